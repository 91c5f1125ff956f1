//! `audit-chain --sqlite <file>` or `audit-chain --postgres <url>`: verifies the security-event chain end to end
//! and prints the event count and the newest hash (exit 0), or the first event that breaks it and why (exit 1);
//! exit 2 for a usage or database error.

use std::process::ExitCode;

use audit_chain::{Verdict, postgres_rows, sqlite_rows, verify};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--sqlite", path] => sqlite_rows(path),
        ["--postgres", url] => postgres_rows(url),
        _ => {
            eprintln!("usage: audit-chain --sqlite <file> | --postgres <url>");
            return ExitCode::from(2);
        }
    };
    match rows.map(|rows| verify(&rows)) {
        Ok(Verdict::Intact { events, last_hash }) => {
            println!("intact: {events} events, last hash {last_hash}");
            ExitCode::SUCCESS
        }
        Ok(Verdict::Broken { id, why }) => {
            println!("broken at event {id}: {why}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("audit-chain: {error}");
            ExitCode::from(2)
        }
    }
}
