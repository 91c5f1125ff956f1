//! `spin:postgres/postgres@4.0.0` against a real Postgres: a database of its own per run (on `DATABASE_URL`'s
//! server, else the machine's), dropped at the end.

use super::{Host, encode, manifest, scratch};

/// A database created for this test run and dropped (with its connections) when this goes out of scope.
struct Database {
    admin: String,
    name: String,
    /// The URL a guest uses to reach it.
    url: String,
    /// `host:port`, for `allowed_outbound_hosts`.
    authority: String,
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn run_admin(admin: &str, statement: &str) {
    let config: tokio_postgres::Config = admin.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(connection);
        client.batch_execute(statement).await.unwrap();
        drop(client);
        let _ = driver.await;
    });
}

impl Database {
    fn create() -> Self {
        let admin = admin_url();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("mfa_host_test_{}_{nanos}", std::process::id());
        run_admin(&admin, &format!("CREATE DATABASE {name}"));
        let config: tokio_postgres::Config = admin.parse().unwrap();
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres");
        let password =
            config.get_password().map(|p| format!(":{}", encode(&String::from_utf8_lossy(p)))).unwrap_or_default();
        let authority = format!("{host}:{port}");
        // Plain TCP: the machine's Postgres offers TLS only with a self-signed certificate (TLS is tls.rs' subject).
        let url = format!("postgres://{user}{password}@{authority}/{name}?sslmode=disable");
        Self { admin, name, url, authority }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        run_admin(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Runs statements on one connection: `("q" | "x", statement, parameters)`.
pub(super) fn pg(host: &Host, address: &str, statements: &[(&str, &str, &[&str])]) -> (u16, String) {
    let mut path = format!("/pg?addr={}", encode(address));
    for (kind, statement, parameters) in statements {
        path.push_str(&format!("&{kind}={}", encode(statement)));
        for parameter in *parameters {
            path.push_str(&format!("&p={}", encode(parameter)));
        }
    }
    let (status, body) = host.get(&path, &[]);
    // The guest's Debug output, without the generated enums' type prefixes.
    (status, body.replace("DbDataType::", "").replace("DbValue::", ""))
}

fn start(db: &Database, name: &str) -> Host {
    let dir = scratch(name);
    let allowed = format!("allowed_outbound_hosts = [\"postgres://{}\"]", db.authority);
    Host::start(&manifest(&dir, "/...", "", &allowed), &[], &[])
}

#[test]
fn values_of_every_mapped_type_round_trip_as_spin_maps_them() {
    let db = Database::create();
    let host = start(&db, "pg-types");
    let create = "CREATE TABLE v (b BOOL, i2 INT2, i4 INT4, i8 INT8, f4 FLOAT4, f8 FLOAT8, t TEXT, vc VARCHAR(9), \
                  by BYTEA, d DATE, tm TIME, dt TIMESTAMP, tz TIMESTAMPTZ, u UUID, j JSONB, n NUMERIC, \
                  r4 INT4RANGE, r8 INT8RANGE, rn NUMRANGE, a4 INT4[], a8 INT8[], an NUMERIC[], at TEXT[], iv INTERVAL, \
                  js JSON)";
    let insert = "INSERT INTO v VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                  $18, $19, $20, $21, $22, $23, $24, $25)";
    let parameters: &[&str] = &[
        "bool:true",
        "i16:-7",
        "i32:2147483647",
        "i64:-9007199254740993",
        "f32:1.5",
        "f64:-0.25",
        "str:héllo",
        "str:short",
        "bin:raw",
        "date:2024-02-29",
        "time:23:59:58:123456000",
        "datetime:1999-12-31 23:59:59:0",
        "ts:1700000000",
        "uuid:67E55044-10B1-426F-9247-BB680E5FE0C8",
        "jsonb:{\"b\": [1, 2], \"a\": null}",
        "dec:12.50",
        "r32:1,[,10,)",
        "r64:_,(,5,]",
        "rdec:1.5,(,2.25,]",
        "a32:1,_,3",
        "a64:9,8",
        "adec:0.1,_",
        "astr:x,_,z",
        "interval:1500000,2,14",
        "jsonb:[true]",
    ];
    let (status, body) = pg(&host, &db.url, &[("x", create, &[]), ("x", insert, parameters)]);
    assert_eq!((status, body.as_str()), (200, "n=0\nn=1"));

    let select = "SELECT b, i2, i4, i8, f4, f8, t, vc, by, d, tm, dt, u, j, n, r4, r8, rn, a4, a8, an, at, iv, js, \
                  extract(epoch FROM tz)::int8 AS tz_epoch FROM v";
    let (status, body) = pg(&host, &db.url, &[("q", select, &[])]);
    assert_eq!(status, 200, "{body}");
    let mut lines = body.lines();
    assert_eq!(
        lines.next().unwrap(),
        "columns=b:Boolean,i2:Int16,i4:Int32,i8:Int64,f4:Floating32,f8:Floating64,t:Str,vc:Str,by:Binary,d:Date,\
         tm:Time,dt:Datetime,u:Uuid,j:Jsonb,n:Decimal,r4:RangeInt32,r8:RangeInt64,rn:RangeDecimal,a4:ArrayInt32,\
         a8:ArrayInt64,an:ArrayDecimal,at:ArrayStr,iv:Interval,js:Other(\"json\"),tz_epoch:Int64"
    );
    let row: Vec<&str> = lines.next().unwrap().strip_prefix("row=").unwrap().split('|').collect();
    let expected = [
        "Boolean(true)",
        "Int16(-7)",
        "Int32(2147483647)",
        "Int64(-9007199254740993)",
        "Floating32(1.5)",
        "Floating64(-0.25)",
        "Str(\"héllo\")",
        "Str(\"short\")",
        "Binary([114, 97, 119])",
        "Date((2024, 2, 29))",
        "Time((23, 59, 58, 123456000))",
        "Datetime((1999, 12, 31, 23, 59, 59, 0))",
        "Uuid(\"67e55044-10b1-426f-9247-bb680e5fe0c8\")",
        // Compact, keys sorted.
        "Jsonb({\"a\":null,\"b\":[1,2]})",
        "Decimal(\"12.50\")",
        "RangeInt32((Some((1, RangeBoundKind::Inclusive)), Some((10, RangeBoundKind::Exclusive))))",
        // The server canonicalises discrete ranges: (,5] is stored as (,6).
        "RangeInt64((None, Some((6, RangeBoundKind::Exclusive))))",
        "RangeDecimal((Some((\"1.5\", RangeBoundKind::Exclusive)), Some((\"2.25\", RangeBoundKind::Inclusive))))",
        "ArrayInt32([Some(1), None, Some(3)])",
        "ArrayInt64([Some(9), Some(8)])",
        "ArrayDecimal([Some(\"0.1\"), None])",
        "ArrayStr([Some(\"x\"), None, Some(\"z\")])",
        "Interval(Interval { micros: 1500000, days: 2, months: 14 })",
        // JSON (not JSONB) is another type: its wire bytes.
        "Unsupported([91, 116, 114, 117, 101, 93])",
        "Int64(1700000000)",
    ];
    assert_eq!(row, expected);

    // NULLs of any type; and, as in Spin, no columns when there are no rows.
    let (status, body) = pg(
        &host,
        &db.url,
        &[
            ("x", "INSERT INTO v (u, r4, iv) VALUES ($1, $2, $3)", &["null", "null", "null"]),
            ("q", "SELECT u, r4, iv FROM v WHERE u IS NULL", &[]),
            ("q", "SELECT u FROM v WHERE false", &[]),
        ],
    );
    assert_eq!(
        (status, body.as_str()),
        (200, "n=1\ncolumns=u:Uuid,r4:RangeInt32,iv:Interval\nrow=DbNull|DbNull|DbNull\ncolumns=")
    );

    // A TIMESTAMPTZ column cannot be read, exactly as in Spin.
    let (status, body) = pg(&host, &db.url, &[("q", "SELECT tz FROM v WHERE tz IS NOT NULL", &[])]);
    assert_eq!(status, 500);
    assert!(body.contains("QueryFailed(QueryError::Text(\"error deserializing column 0"), "{body}");
}

#[test]
fn errors_use_spins_variants() {
    let db = Database::create();
    let host = start(&db, "pg-errors");
    // A bad value: bad-parameter from `query`, value-conversion-failed from `execute`, naming the value.
    let (status, body) = pg(&host, &db.url, &[("q", "SELECT $1::uuid", &["uuid:not-a-uuid"])]);
    assert_eq!(status, 500);
    assert!(body.starts_with("error: Error::BadParameter(\"invalid UUID not-a-uuid: "), "{body}");
    let (status, body) = pg(&host, &db.url, &[("x", "SELECT $1::numeric", &["dec:1.2.3"])]);
    assert_eq!(status, 500);
    assert!(body.starts_with("error: Error::ValueConversionFailed(\"invalid decimal 1.2.3: "), "{body}");

    // The server's structured error.
    let (status, body) = pg(&host, &db.url, &[("q", "SELECT * FROM no_such_table", &[])]);
    assert_eq!(status, 500);
    assert!(body.contains("QueryError::DbError(DbError {"), "{body}");
    assert!(body.contains("code: \"42P01\""), "{body}");
    assert!(body.contains("message: \"relation \\\"no_such_table\\\" does not exist\""), "{body}");
    let (status, body) = pg(
        &host,
        &db.url,
        &[("x", "CREATE TABLE u (k INT PRIMARY KEY)", &[]), ("x", "INSERT INTO u VALUES (1), (1)", &[])],
    );
    assert_eq!(status, 500);
    assert!(body.contains("code: \"23505\"") && body.contains("(\"constraint\", \"u_pkey\")"), "{body}");

    // A value of the wrong type for the inferred parameter: the driver's text error.
    let (status, body) = pg(&host, &db.url, &[("q", "SELECT $1::text", &["i32:5"])]);
    assert_eq!(status, 500);
    assert!(body.contains("QueryError::Text(") && body.contains("WrongType"), "{body}");

    // Addresses outside allowed_outbound_hosts are refused before connecting, in Spin's words.
    let (status, body) = pg(&host, "postgres://postgres@127.0.0.2:5999/x", &[("q", "SELECT 1", &[])]);
    assert_eq!(
        (status, body.as_str()),
        (500, "error: Error::ConnectionFailed(\"address postgres://127.0.0.2:5999 is not permitted\")")
    );
    let (status, body) = pg(&host, "host=/tmp user=postgres", &[("q", "SELECT 1", &[])]);
    assert_eq!(status, 500);
    assert!(body.contains("not permitted") || body.contains("Unix sockets"), "{body}");
    let (status, body) = pg(&host, "postgres://%zz", &[("q", "SELECT 1", &[])]);
    assert_eq!(status, 500);
    assert!(body.starts_with("error: Error::ConnectionFailed("), "{body}");
}

#[test]
fn a_connection_is_one_session_and_is_reset_before_reuse() {
    let db = Database::create();
    let host = start(&db, "pg-sessions");
    let pid = |body: &str| {
        body.lines().find_map(|l| l.strip_prefix("row=Int32(")).map(|l| l.trim_end_matches(')').to_owned())
    };

    // A transaction spans calls on one connection: the rolled-back insert is gone.
    let (status, body) = pg(
        &host,
        &db.url,
        &[
            ("x", "CREATE TABLE t (n INT)", &[]),
            ("x", "BEGIN", &[]),
            ("x", "INSERT INTO t VALUES (1)", &[]),
            ("x", "ROLLBACK", &[]),
            ("q", "SELECT count(*)::int4 FROM t", &[]),
        ],
    );
    assert_eq!((status, body.as_str()), (200, "n=0\nn=0\nn=1\nn=0\ncolumns=count:Int32\nrow=Int32(0)"));

    // A request that ends inside a transaction, holding a session-level advisory lock and a setting...
    let (status, body) = pg(
        &host,
        &db.url,
        &[
            ("q", "SELECT pg_backend_pid()::int4", &[]),
            ("x", "BEGIN", &[]),
            ("x", "INSERT INTO t VALUES (2)", &[]),
            ("q", "SELECT pg_advisory_lock(7)::text", &[]),
            ("x", "SET application_name = 'leftover'", &[]),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let first = pid(&body).unwrap();

    // ...leaves nothing behind for the next holder of the same session (which comes back to the pool once its
    // transaction is rolled back: until then other sessions serve).
    let mut reused = None;
    for _ in 0..100 {
        let (status, body) = pg(
            &host,
            &db.url,
            &[
                ("q", "SELECT pg_backend_pid()::int4", &[]),
                ("q", "SELECT count(*)::int8 FROM t", &[]),
                (
                    "q",
                    "SELECT count(*)::int8 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
                    &[],
                ),
                ("q", "SELECT current_setting('application_name')", &[]),
            ],
        );
        assert_eq!(status, 200, "{body}");
        if pid(&body).as_deref() == Some(first.as_str()) {
            reused = Some(body);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let body = reused.expect("the first pooled session was never reused");
    let rows: Vec<&str> = body.lines().filter(|l| l.starts_with("row=")).skip(1).collect();
    // Had the session kept its transaction, it would count its own uncommitted row.
    assert_eq!(rows, ["row=Int64(0)", "row=Int64(0)", "row=Str(\"\")"], "{body}");

    // A statement that fails inside a transaction is rolled back too (the session is not left aborted).
    let (status, _) = pg(&host, &db.url, &[("x", "BEGIN", &[]), ("x", "SELECT 1/0", &[])]);
    assert_eq!(status, 500);
    let (status, body) = pg(&host, &db.url, &[("q", "SELECT 1::int4", &[])]);
    assert_eq!((status, body.as_str()), (200, "columns=int4:Int32\nrow=Int32(1)"));
}

#[test]
fn a_session_prepares_a_statement_once_and_again_when_its_table_changes_shape() {
    let db = Database::create();
    let host = start(&db, "pg-prepared");
    let (status, body) = pg(
        &host,
        &db.url,
        &[
            ("x", "CREATE TABLE c (a INT)", &[]),
            ("x", "INSERT INTO c VALUES (1)", &[]),
            ("q", "SELECT * FROM c", &[]),
            ("q", "SELECT * FROM c", &[]),
            // Kept prepared by the session (Spin would have prepared it twice and closed it each time).
            ("q", "SELECT count(*)::int4 FROM pg_prepared_statements WHERE statement = 'SELECT * FROM c'", &[]),
            // The table changes shape: the kept statement no longer fits, and is prepared again.
            ("x", "ALTER TABLE c ADD COLUMN b TEXT DEFAULT 'x'", &[]),
            ("q", "SELECT * FROM c", &[]),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let expected = "n=0\nn=1\ncolumns=a:Int32\nrow=Int32(1)\ncolumns=a:Int32\nrow=Int32(1)\ncolumns=count:Int32\n\
                    row=Int32(1)\nn=0\ncolumns=a:Int32,b:Str\nrow=Int32(1)|Str(\"x\")";
    assert_eq!(body, expected);
}

#[test]
fn a_session_keeps_at_most_256_prepared_statements() {
    let db = Database::create();
    let host = start(&db, "pg-prepared-cap");
    // 300 different statements (as a guest writing literals into its SQL would send): the session's cache is
    // emptied when full, and the server forgets what it held.
    let statements: Vec<String> = (0..300).map(|n| format!("SELECT {n} AS n")).collect();
    let mut steps: Vec<(&str, &str, &[&str])> = statements.iter().map(|s| ("q", s.as_str(), &[][..])).collect();
    steps.push(("q", "SELECT count(*)::int4 FROM pg_prepared_statements", &[]));
    let (status, body) = pg(&host, &db.url, &steps);
    assert_eq!(status, 200, "{body}");
    // 256 kept, then emptied: the last 44 and the count itself.
    assert_eq!(body.lines().last(), Some("row=Int32(45)"), "{body}");
}
