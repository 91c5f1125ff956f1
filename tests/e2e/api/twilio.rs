//! A fake of Twilio's Messages API on a loopback port, for the app's `twilio_api_base`: it checks each request's
//! shape (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth with the configured SID and token,
//! a form-encoded `To`, `From` and `Body`), records the messages it accepted, and answers what a test scripts next
//! (429 with `Retry-After`, 500, Twilio's 21211 "invalid To"), else 201 as Twilio does.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

/// The account the fake expects.
pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
/// Its auth token.
pub const AUTH_TOKEN: &str = "fake-auth-token";
/// The sender number.
pub const FROM: &str = "+15005550006";

/// An answer the fake can be told to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scripted {
    /// 429 with `Retry-After: {0}`.
    TooManyRequests(u64),
    /// 500.
    ServerError,
    /// 400 with Twilio's error 21211 (invalid `To`).
    InvalidNumber,
}

/// A message the fake accepted.
#[derive(Debug, Clone)]
pub struct Message {
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
}

impl Message {
    /// The 6-digit code in the body.
    pub fn code(&self) -> String {
        self.body.split(|c: char| !c.is_ascii_digit()).find(|part| part.len() == 6).unwrap().to_owned()
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Scripted>,
    messages: Vec<Message>,
    requests: usize,
    malformed: Vec<String>,
}

/// The running fake (it stops with the test process).
pub struct FakeTwilio {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FakeTwilio {
    /// Starts one on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Self { base, state }
    }

    /// The app variables that point it here.
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        vec![
            ("twilio_api_base", self.base.clone()),
            ("twilio_account_sid", ACCOUNT_SID.to_owned()),
            ("twilio_auth_token", AUTH_TOKEN.to_owned()),
            ("twilio_from", FROM.to_owned()),
        ]
    }

    /// The next answers, in order, before the fake goes back to accepting.
    pub fn script(&self, answers: &[Scripted]) {
        self.state.lock().unwrap().script.extend(answers.iter().copied());
    }

    /// The messages accepted so far.
    pub fn messages(&self) -> Vec<Message> {
        self.state.lock().unwrap().messages.clone()
    }

    /// Requests received so far (accepted or not).
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// Requests that did not have Twilio's shape (none, in a passing test).
    pub fn malformed(&self) -> Vec<String> {
        self.state.lock().unwrap().malformed.clone()
    }
}

fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3).unwrap_or_default()).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `Transfer-Encoding: chunked` body.
fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).unwrap();
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(&mut reader)
    } else {
        let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        body
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    let form: Vec<(String, String)> = body
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (form_decode(name), form_decode(value)))
        .collect();
    let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());

    let expected_path = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json");
    let expected_auth =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}")));
    let mut problems = Vec::new();
    if request_line.split_whitespace().take(2).collect::<Vec<_>>() != ["POST", expected_path.as_str()] {
        problems.push(format!("request line {request_line:?}"));
    }
    if header("authorization").as_deref() != Some(expected_auth.as_str()) {
        problems.push("authorization".to_owned());
    }
    if header("content-type").as_deref() != Some("application/x-www-form-urlencoded") {
        problems.push(format!("content-type {:?}", header("content-type")));
    }
    let (to, from, text) = (field("To"), field("From"), field("Body"));
    if to.as_deref().is_none_or(|to| !to.starts_with('+')) || from.as_deref() != Some(FROM) || text.is_none() {
        problems.push(format!("form {body:?}"));
    }

    let (status, extra, answer) = {
        let mut state = state.lock().unwrap();
        state.requests += 1;
        if !problems.is_empty() {
            state.malformed.push(problems.join("; "));
            (401, String::new(), r#"{"code": 20003, "message": "Authenticate"}"#.to_owned())
        } else {
            match state.script.pop_front() {
                Some(Scripted::TooManyRequests(seconds)) => (
                    429,
                    format!("Retry-After: {seconds}\r\n"),
                    r#"{"code": 20429, "message": "Too Many Requests"}"#.to_owned(),
                ),
                Some(Scripted::ServerError) => {
                    (500, String::new(), r#"{"code": 20500, "message": "Internal Server Error"}"#.to_owned())
                }
                Some(Scripted::InvalidNumber) => (
                    400,
                    String::new(),
                    r#"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#
                        .to_owned(),
                ),
                None => {
                    let sid = format!("SM{:032}", state.messages.len() + 1);
                    state.messages.push(Message {
                        to: to.unwrap_or_default(),
                        from: from.unwrap_or_default(),
                        body: text.unwrap_or_default(),
                    });
                    (201, String::new(), format!(r#"{{"sid": "{sid}", "status": "queued"}}"#))
                }
            }
        }
    };
    let mut stream = stream;
    let reason = match status {
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{answer}",
        answer.len()
    );
    let _ = stream.flush();
}
