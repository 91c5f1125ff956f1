//! Values of `spin:postgres/postgres@4.0.0` to and from tokio-postgres, mapped as Spin maps them:
//!
//! - parameters: each variant becomes the Rust type whose `ToSql` accepts the matching Postgres type (the server
//!   infers parameter types; a mismatch is tokio-postgres' error). `timestamp` is seconds since the epoch sent as
//!   TIMESTAMPTZ, `datetime` a TIMESTAMP; `jsonb` must be valid JSON; `decimal` is parsed exactly; `db-null` is
//!   NULL of any type. A value that cannot be converted (a bad date, UUID, JSON or decimal) is an error whose text
//!   names it;
//! - columns: a type per Postgres type (TIMESTAMP and TIMESTAMPTZ both `datetime`; any other type `other(name)`);
//! - values: read as the column's type (NULL is `db-null`; a TIMESTAMPTZ value cannot be read, as in Spin); values
//!   of `other` types are passed as their binary wire bytes (`unsupported`).
//!
//! Ranges and intervals use Postgres' binary formats directly: a range is a flags byte then its present bounds,
//! each length-prefixed; an interval is microseconds (i64), days (i32), months (i32), big-endian.

use std::error::Error as StdError;

use anyhow::{Context, anyhow};
use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use postgres_types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};
use rust_decimal::Decimal;
use tokio_postgres::Row;

use super::bindings::spin::postgres::postgres::{DbDataType, DbValue, Interval, ParameterValue, RangeBoundKind};

/// A parameter ready to bind.
pub type SqlParameter = Box<dyn ToSql + Send + Sync>;

type BoxError = Box<dyn StdError + Sync + Send>;

/// A range bound as the WIT carries it.
type Bound<T> = Option<(T, RangeBoundKind)>;

/// Converts one parameter; the error says which value could not be converted.
pub fn parameter(value: ParameterValue) -> anyhow::Result<SqlParameter> {
    Ok(match value {
        ParameterValue::Boolean(v) => Box::new(v),
        ParameterValue::Int8(v) => Box::new(v),
        ParameterValue::Int16(v) => Box::new(v),
        ParameterValue::Int32(v) => Box::new(v),
        ParameterValue::Int64(v) => Box::new(v),
        ParameterValue::Floating32(v) => Box::new(v),
        ParameterValue::Floating64(v) => Box::new(v),
        ParameterValue::Str(v) => Box::new(v),
        ParameterValue::Binary(v) => Box::new(v),
        ParameterValue::Date(v) => Box::new(date(v)?),
        ParameterValue::Time(v) => Box::new(time(v)?),
        ParameterValue::Datetime((y, mo, d, h, mi, s, ns)) => {
            Box::new(NaiveDateTime::new(date((y, mo, d))?, time((h, mi, s, ns))?))
        }
        ParameterValue::Timestamp(v) => {
            Box::new(DateTime::<Utc>::from_timestamp(v, 0).ok_or_else(|| anyhow!("invalid epoch timestamp {v}"))?)
        }
        ParameterValue::Uuid(v) => Box::new(uuid::Uuid::parse_str(&v).with_context(|| format!("invalid UUID {v}"))?),
        ParameterValue::Jsonb(v) => Box::new(
            serde_json::from_slice::<serde_json::Value>(&v)
                .with_context(|| format!("invalid JSON {}", String::from_utf8_lossy(&v)))?,
        ),
        ParameterValue::Decimal(v) => Box::new(decimal(&v)?),
        ParameterValue::RangeInt32((lower, upper)) => Box::new(PgRange::new(lower, upper)),
        ParameterValue::RangeInt64((lower, upper)) => Box::new(PgRange::new(lower, upper)),
        ParameterValue::RangeDecimal((lower, upper)) => {
            Box::new(PgRange::new(decimal_bound(lower)?, decimal_bound(upper)?))
        }
        ParameterValue::ArrayInt32(v) => Box::new(v),
        ParameterValue::ArrayInt64(v) => Box::new(v),
        ParameterValue::ArrayDecimal(v) => {
            Box::new(v.iter().map(|d| d.as_deref().map(decimal).transpose()).collect::<anyhow::Result<Vec<_>>>()?)
        }
        ParameterValue::ArrayStr(v) => Box::new(v),
        ParameterValue::Interval(v) => Box::new(PgInterval(v)),
        ParameterValue::DbNull => Box::new(PgNull),
    })
}

fn date((year, month, day): (i32, u8, u8)) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month.into(), day.into())
        .ok_or_else(|| anyhow!("invalid date y={year}, m={month}, d={day}"))
}

fn time((hour, minute, second, nanos): (u8, u8, u8, u32)) -> anyhow::Result<NaiveTime> {
    NaiveTime::from_hms_nano_opt(hour.into(), minute.into(), second.into(), nanos)
        .ok_or_else(|| anyhow!("invalid time {hour}:{minute}:{second}:{nanos}"))
}

fn decimal(text: &str) -> anyhow::Result<Decimal> {
    Decimal::from_str_exact(text).with_context(|| format!("invalid decimal {text}"))
}

fn decimal_bound(bound: Bound<String>) -> anyhow::Result<Bound<Decimal>> {
    bound.map(|(value, kind)| Ok((decimal(&value)?, kind))).transpose()
}

/// The WIT type of a column of Postgres type `ty`.
pub fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::BYTEA => DbDataType::Binary,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_RANGE => DbDataType::RangeInt32,
        Type::INT8_RANGE => DbDataType::RangeInt64,
        Type::NUM_RANGE => DbDataType::RangeDecimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(ty.name().to_owned()),
    }
}

/// Reads column `index` of `row` as its [`data_type`].
pub fn value(row: &Row, index: usize) -> Result<DbValue, tokio_postgres::Error> {
    let ty = row.columns().get(index).map_or(DbDataType::Other(String::new()), |c| data_type(c.type_()));
    fn get<'a, T: FromSql<'a>>(
        row: &'a Row,
        index: usize,
        f: impl FnOnce(T) -> DbValue,
    ) -> Result<DbValue, tokio_postgres::Error> {
        Ok(row.try_get::<_, Option<T>>(index)?.map_or(DbValue::DbNull, f))
    }
    match ty {
        DbDataType::Boolean => get(row, index, DbValue::Boolean),
        DbDataType::Int8 => get(row, index, DbValue::Int8),
        DbDataType::Int16 => get(row, index, DbValue::Int16),
        DbDataType::Int32 => get(row, index, DbValue::Int32),
        DbDataType::Int64 => get(row, index, DbValue::Int64),
        DbDataType::Floating32 => get(row, index, DbValue::Floating32),
        DbDataType::Floating64 => get(row, index, DbValue::Floating64),
        DbDataType::Str => get(row, index, DbValue::Str),
        DbDataType::Binary => get(row, index, DbValue::Binary),
        DbDataType::Date => get(row, index, |d: NaiveDate| DbValue::Date(date_tuple(d))),
        DbDataType::Time => get(row, index, |t: NaiveTime| DbValue::Time(time_tuple(t))),
        DbDataType::Datetime | DbDataType::Timestamp => get(row, index, |dt: NaiveDateTime| {
            let (y, mo, d) = date_tuple(dt.date());
            let (h, mi, s, ns) = time_tuple(dt.time());
            DbValue::Datetime((y, mo, d, h, mi, s, ns))
        }),
        DbDataType::Uuid => get(row, index, |u: uuid::Uuid| DbValue::Uuid(u.to_string())),
        DbDataType::Jsonb => {
            get(row, index, |j: serde_json::Value| DbValue::Jsonb(serde_json::to_vec(&j).unwrap_or_default()))
        }
        DbDataType::Decimal => get(row, index, |d: Decimal| DbValue::Decimal(d.to_string())),
        DbDataType::RangeInt32 => get(row, index, |r: PgRange<i32>| DbValue::RangeInt32((r.lower, r.upper))),
        DbDataType::RangeInt64 => get(row, index, |r: PgRange<i64>| DbValue::RangeInt64((r.lower, r.upper))),
        DbDataType::RangeDecimal => get(row, index, |r: PgRange<Decimal>| {
            let text = |b: Bound<Decimal>| b.map(|(d, kind)| (d.to_string(), kind));
            DbValue::RangeDecimal((text(r.lower), text(r.upper)))
        }),
        DbDataType::ArrayInt32 => get(row, index, DbValue::ArrayInt32),
        DbDataType::ArrayInt64 => get(row, index, DbValue::ArrayInt64),
        DbDataType::ArrayDecimal => get(row, index, |v: Vec<Option<Decimal>>| {
            DbValue::ArrayDecimal(v.into_iter().map(|d| d.map(|d| d.to_string())).collect())
        }),
        DbDataType::ArrayStr => get(row, index, DbValue::ArrayStr),
        DbDataType::Interval => get(row, index, |PgInterval(i)| DbValue::Interval(i)),
        DbDataType::Other(_) => get(row, index, |Raw(bytes)| DbValue::Unsupported(bytes)),
    }
}

/// Roughly how many bytes a value holds, to cap a buffered result as Spin does.
pub fn size_of(value: &DbValue) -> usize {
    let heap = match value {
        DbValue::Str(s) | DbValue::Uuid(s) | DbValue::Decimal(s) => s.len(),
        DbValue::Binary(b) | DbValue::Jsonb(b) | DbValue::Unsupported(b) => b.len(),
        DbValue::ArrayInt32(v) => v.len() * 8,
        DbValue::ArrayInt64(v) => v.len() * 16,
        DbValue::ArrayDecimal(v) | DbValue::ArrayStr(v) => {
            v.iter().map(|s| 24 + s.as_ref().map_or(0, String::len)).sum()
        }
        DbValue::RangeDecimal((l, u)) => [l, u].iter().filter_map(|b| b.as_ref()).map(|(s, _)| s.len()).sum(),
        _ => 0,
    };
    std::mem::size_of::<DbValue>() + heap
}

fn date_tuple(d: NaiveDate) -> (i32, u8, u8) {
    use chrono::Datelike;
    (d.year(), narrow(d.month()), narrow(d.day()))
}

fn time_tuple(t: NaiveTime) -> (u8, u8, u8, u32) {
    use chrono::Timelike;
    (narrow(t.hour()), narrow(t.minute()), narrow(t.second()), t.nanosecond())
}

/// Calendar fields always fit a byte.
fn narrow(v: u32) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

/// SQL NULL of whatever type the server expects.
#[derive(Debug)]
struct PgNull;

impl ToSql for PgNull {
    fn to_sql(&self, _: &Type, _: &mut BytesMut) -> Result<IsNull, BoxError> {
        Ok(IsNull::Yes)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// An INTERVAL in Postgres' binary layout.
#[derive(Debug)]
struct PgInterval(Interval);

impl ToSql for PgInterval {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        out.put_i64(self.0.micros);
        out.put_i32(self.0.days);
        out.put_i32(self.0.months);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for PgInterval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let bytes: [u8; 16] = raw.try_into().map_err(|_| "unexpected binary format for Postgres INTERVAL")?;
        let [a, b, c, d, e, f, g, h, days @ .., m0, m1, m2, m3] = bytes;
        let days: [u8; 4] = days;
        Ok(Self(Interval {
            micros: i64::from_be_bytes([a, b, c, d, e, f, g, h]),
            days: i32::from_be_bytes(days),
            months: i32::from_be_bytes([m0, m1, m2, m3]),
        }))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

/// A value of any type, as its binary wire bytes.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Self(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

const RANGE_EMPTY: u8 = 0x01;
const RANGE_LOWER_INCLUSIVE: u8 = 0x02;
const RANGE_UPPER_INCLUSIVE: u8 = 0x04;
const RANGE_LOWER_UNBOUNDED: u8 = 0x08;
const RANGE_UPPER_UNBOUNDED: u8 = 0x10;

/// A range of `T` with optional bounds; a lower bound above the upper one is the empty range, as in Spin.
#[derive(Debug)]
struct PgRange<T> {
    lower: Bound<T>,
    upper: Bound<T>,
}

impl<T: PartialOrd> PgRange<T> {
    fn new(lower: Bound<T>, upper: Bound<T>) -> Self {
        Self { lower, upper }
    }

    fn is_empty(&self) -> bool {
        match (&self.lower, &self.upper) {
            (Some((l, lk)), Some((u, uk))) => {
                l > u || (l == u && !(*lk == RangeBoundKind::Inclusive && *uk == RangeBoundKind::Inclusive))
            }
            _ => false,
        }
    }
}

fn range_element(ty: &Type) -> Option<&Type> {
    match ty.kind() {
        Kind::Range(element) => Some(element),
        _ => None,
    }
}

impl<T: ToSql + PartialOrd + std::fmt::Debug> ToSql for PgRange<T> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let element = range_element(ty).ok_or("not a range type")?;
        if self.is_empty() {
            out.put_u8(RANGE_EMPTY);
            return Ok(IsNull::No);
        }
        let flag = |bound: &Bound<T>, inclusive: u8, unbounded: u8| match bound {
            None => unbounded,
            Some((_, RangeBoundKind::Inclusive)) => inclusive,
            Some((_, RangeBoundKind::Exclusive)) => 0,
        };
        out.put_u8(
            flag(&self.lower, RANGE_LOWER_INCLUSIVE, RANGE_LOWER_UNBOUNDED)
                | flag(&self.upper, RANGE_UPPER_INCLUSIVE, RANGE_UPPER_UNBOUNDED),
        );
        for (value, _) in [&self.lower, &self.upper].into_iter().flatten() {
            let start = out.len();
            out.put_i32(0);
            if let IsNull::Yes = value.to_sql(element, out)? {
                return Err("a range bound cannot be NULL".into());
            }
            let length = i32::try_from(out.len() - start - 4)?;
            out.get_mut(start..start + 4).ok_or("range bound")?.copy_from_slice(&length.to_be_bytes());
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        range_element(ty).is_some_and(T::accepts)
    }

    to_sql_checked!();
}

impl<'a, T: FromSql<'a>> FromSql<'a> for PgRange<T> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        let element = range_element(ty).ok_or("not a range type")?;
        let (&flags, mut rest) = raw.split_first().ok_or("truncated range")?;
        if flags & RANGE_EMPTY != 0 {
            return Ok(Self { lower: None, upper: None });
        }
        let mut bound = |unbounded: u8, inclusive: u8| -> Result<Bound<T>, BoxError> {
            if flags & unbounded != 0 {
                return Ok(None);
            }
            let (length, tail) = rest.split_first_chunk::<4>().ok_or("truncated range")?;
            let length = usize::try_from(i32::from_be_bytes(*length))?;
            let (bytes, tail) = tail.split_at_checked(length).ok_or("truncated range")?;
            rest = tail;
            let kind = if flags & inclusive != 0 { RangeBoundKind::Inclusive } else { RangeBoundKind::Exclusive };
            Ok(Some((T::from_sql(element, bytes)?, kind)))
        };
        let lower = bound(RANGE_LOWER_UNBOUNDED, RANGE_LOWER_INCLUSIVE)?;
        let upper = bound(RANGE_UPPER_UNBOUNDED, RANGE_UPPER_INCLUSIVE)?;
        Ok(Self { lower, upper })
    }

    fn accepts(ty: &Type) -> bool {
        range_element(ty).is_some_and(T::accepts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<T: ToSql>(value: &T, ty: &Type) -> Vec<u8> {
        let mut out = BytesMut::new();
        value.to_sql(ty, &mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn ranges_round_trip_through_the_binary_format() {
        let range = PgRange::new(Some((3_i32, RangeBoundKind::Inclusive)), Some((9, RangeBoundKind::Exclusive)));
        let bytes = encode(&range, &Type::INT4_RANGE);
        assert_eq!(bytes, [0x02, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 9]);
        let back = PgRange::<i32>::from_sql(&Type::INT4_RANGE, &bytes).unwrap();
        assert_eq!((back.lower, back.upper), (range.lower, range.upper));

        let unbounded = PgRange::<i64>::new(None, Some((5, RangeBoundKind::Inclusive)));
        let bytes = encode(&unbounded, &Type::INT8_RANGE);
        assert_eq!(bytes.first(), Some(&(RANGE_LOWER_UNBOUNDED | RANGE_UPPER_INCLUSIVE)));
        let back = PgRange::<i64>::from_sql(&Type::INT8_RANGE, &bytes).unwrap();
        assert_eq!((back.lower, back.upper), (None, Some((5, RangeBoundKind::Inclusive))));
    }

    #[test]
    fn an_inverted_range_is_empty_and_reads_back_unbounded() {
        let range = PgRange::new(Some((9_i32, RangeBoundKind::Inclusive)), Some((3, RangeBoundKind::Inclusive)));
        assert_eq!(encode(&range, &Type::INT4_RANGE), [RANGE_EMPTY]);
        let half_open = PgRange::new(Some((4_i32, RangeBoundKind::Inclusive)), Some((4, RangeBoundKind::Exclusive)));
        assert_eq!(encode(&half_open, &Type::INT4_RANGE), [RANGE_EMPTY]);
        let back = PgRange::<i32>::from_sql(&Type::INT4_RANGE, &[RANGE_EMPTY]).unwrap();
        assert_eq!((back.lower, back.upper), (None, None));
    }

    #[test]
    fn truncated_ranges_and_intervals_are_errors_not_panics() {
        assert!(PgRange::<i32>::from_sql(&Type::INT4_RANGE, &[]).is_err());
        assert!(PgRange::<i32>::from_sql(&Type::INT4_RANGE, &[0x02, 0, 0, 0, 4, 0]).is_err());
        assert!(PgRange::<i32>::from_sql(&Type::INT4_RANGE, &[0x02, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(PgInterval::from_sql(&Type::INTERVAL, &[0; 15]).is_err());
    }

    #[test]
    fn intervals_use_micros_days_months_big_endian() {
        let interval = PgInterval(Interval { micros: 1_500_000, days: -2, months: 14 });
        let bytes = encode(&interval, &Type::INTERVAL);
        assert_eq!(bytes.len(), 16);
        let PgInterval(back) = PgInterval::from_sql(&Type::INTERVAL, &bytes).unwrap();
        assert_eq!(back, interval.0);
    }

    #[test]
    fn bad_values_name_themselves() {
        let error = |v| format!("{:#}", parameter(v).err().unwrap());
        assert_eq!(error(ParameterValue::Date((2024, 2, 30))), "invalid date y=2024, m=2, d=30");
        assert_eq!(error(ParameterValue::Time((24, 0, 0, 0))), "invalid time 24:0:0:0");
        assert!(error(ParameterValue::Uuid("xyz".into())).starts_with("invalid UUID xyz: "));
        assert!(error(ParameterValue::Jsonb(b"{".to_vec())).starts_with("invalid JSON {: "));
        assert!(error(ParameterValue::Decimal("1.2.3".into())).starts_with("invalid decimal 1.2.3: "));
        assert!(error(ParameterValue::Timestamp(i64::MAX)).starts_with("invalid epoch timestamp"));
        assert!(error(ParameterValue::ArrayDecimal(vec![Some("1".into()), Some("x".into())])).contains("x"));
    }

    #[test]
    fn null_accepts_every_type() {
        assert!(<PgNull as ToSql>::accepts(&Type::TEXT));
        assert!(<PgNull as ToSql>::accepts(&Type::INT4_RANGE));
        assert!(matches!(PgNull.to_sql(&Type::UUID, &mut BytesMut::new()).unwrap(), IsNull::Yes));
    }

    #[test]
    fn column_types_map_as_spin_does() {
        assert_eq!(data_type(&Type::TIMESTAMPTZ), DbDataType::Datetime);
        assert_eq!(data_type(&Type::VARCHAR_ARRAY), DbDataType::ArrayStr);
        assert_eq!(data_type(&Type::JSON), DbDataType::Other("json".into()));
        assert_eq!(data_type(&Type::CHAR), DbDataType::Other("char".into()));
    }
}
