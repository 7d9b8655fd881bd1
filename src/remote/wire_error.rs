//! Reading an endpoint's answer: a success body, or an ESA error body
//! (`Code`, `Message`, `RequestId`, as the SDKs read them, either case of
//! the first letter) turned into an [`EsaError`] that keeps the wire code,
//! the HTTP status and the RequestId ([`WireOrigin`]). A code we do not
//! know is kept as sent and named in the message; a clock-skew refusal
//! says the server's time and ours.

use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;

use super::client::Reply;
use crate::error::{ErrorCode, EsaError, EsaResult, WireOrigin};
use crate::text::clip;

/// One HTTP exchange as the client received it.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    /// `x-acs-request-id`.
    pub request_id: Option<String>,
    /// `x-acs-retry-after`, parsed.
    pub retry_after: Option<Duration>,
    /// `Date`.
    pub date: Option<String>,
    pub body: Vec<u8>,
}

fn text_field<'a>(v: &'a Value, names: [&str; 2]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| v.get(n).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
}

/// The answer's JSON on success, else the endpoint's error.
pub fn into_reply(a: HttpAnswer, action: &str, remote: &str) -> EsaResult<Reply> {
    let parsed: Option<Value> = serde_json::from_slice(&a.body)
        .ok()
        .filter(Value::is_object);
    let Some(body) = parsed else {
        let snippet = clip(&String::from_utf8_lossy(&a.body), 120);
        return Err(EsaError::new(
            ErrorCode::RemoteUnavailable,
            format!(
                "{remote} answered {action} with HTTP {} and a body that is not ESA's JSON{}",
                a.status,
                if snippet.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::text::quoted(&snippet))
                }
            ),
        ));
    };
    let request_id = text_field(&body, ["RequestId", "requestId"])
        .map(str::to_owned)
        .or(a.request_id.clone())
        .unwrap_or_default();
    if a.status < 400 {
        return Ok(Reply { body, request_id });
    }
    Err(error_of(&a, &body, request_id))
}

fn error_of(a: &HttpAnswer, body: &Value, request_id: String) -> EsaError {
    let wire_code = text_field(body, ["Code", "code"]).map(str::to_owned);
    let message = text_field(body, ["Message", "message"]).unwrap_or("(no message)");
    let message = clip(message, 2000);
    let known = wire_code
        .as_deref()
        .and_then(|c| ErrorCode::from_str(c).ok());
    let code = known.unwrap_or(match a.status {
        401 | 403 => ErrorCode::InvalidToken,
        429 => ErrorCode::RemoteUnavailable,
        s if s >= 500 => ErrorCode::InternalException,
        _ => ErrorCode::InvalidParameter,
    });
    let shown_id = if request_id.is_empty() {
        "no RequestId".to_owned()
    } else {
        format!("RequestId {request_id}")
    };
    let mut text = match (&wire_code, known) {
        (Some(c), None) => format!("{c}: {message} ({shown_id})"),
        (None, _) => format!("HTTP {}: {message} ({shown_id})", a.status),
        _ => format!("{message} ({shown_id})"),
    };
    if code == ErrorCode::InvalidTime {
        text.push_str(&clock_note(a.date.as_deref(), now_unix()));
    }
    if let Some(wait) = a.retry_after {
        text.push_str(&format!(
            "; the server asks to wait {} ms before trying again",
            wait.as_millis()
        ));
    }
    EsaError {
        code,
        message: text,
        origin: Some(Box::new(WireOrigin {
            code: wire_code.unwrap_or_else(|| code.as_str().to_owned()),
            request_id,
            http_status: a.status,
        })),
    }
}

fn now_unix() -> i64 {
    crate::base::clock::now_seconds().unix_timestamp()
}

/// `; the server's time is … and this machine's is … (N s ahead)`.
fn clock_note(date: Option<&str>, now: i64) -> String {
    let ours = crate::acs::format_date(now);
    let Some(date) = date else {
        return format!(
            "; this machine's time is {ours} (the server sent no Date): check the clock"
        );
    };
    let shown = crate::text::quoted(&clip(date, 60));
    match parse_http_date(date) {
        Some(server) => {
            let skew = now - server;
            let how = match skew {
                0 => "the same second".to_owned(),
                s if s > 0 => format!("this machine is {s} s ahead"),
                s => format!("this machine is {} s behind", -s),
            };
            format!(
                "; the server's time is {} ({shown}) and this machine's is {ours}: {how}; \
                 fix this machine's clock",
                crate::acs::format_date(server)
            )
        }
        None => format!("; the server's time is {shown} and this machine's is {ours}"),
    }
}

/// An HTTP `Date` (IMF-fixdate, `Tue, 01 Jan 2025 00:00:00 GMT`).
pub fn parse_http_date(s: &str) -> Option<i64> {
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(s.trim(), f)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> HttpAnswer {
        HttpAnswer {
            status,
            request_id: Some("HDR-ID".into()),
            retry_after: None,
            date: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn err(a: HttpAnswer) -> EsaError {
        into_reply(a, "GetClientCertificate", "remote t (http://x/)").unwrap_err()
    }

    #[test]
    fn a_known_code_keeps_code_status_message_and_request_id() {
        let e = err(answer(
            403,
            r#"{"RequestId":"R-1","Code":"Unauthorized.InvalidToken","Message":"bad signature","HostId":"h"}"#,
        ));
        assert_eq!(e.code, ErrorCode::InvalidToken);
        assert_eq!(e.code_str(), "Unauthorized.InvalidToken");
        assert_eq!(e.http_status(), 403);
        assert_eq!(e.request_id(), Some("R-1"));
        assert_eq!(e.message, "bad signature (RequestId R-1)");
        // Lower-case keys (some gateways) and the header's RequestId.
        let e = err(answer(
            400,
            r#"{"code":"InvalidParameter.Id","message":"no such Id"}"#,
        ));
        assert_eq!(e.code, ErrorCode::InvalidId);
        assert_eq!(e.request_id(), Some("HDR-ID"));
    }

    #[test]
    fn an_unknown_code_stays_visible() {
        let mut a = answer(
            429,
            r#"{"RequestId":"R-2","Code":"Throttling.User","Message":"Request was denied due to user flow control."}"#,
        );
        a.retry_after = Some(Duration::from_millis(800));
        let e = err(a);
        assert_eq!(e.code, ErrorCode::RemoteUnavailable);
        assert_eq!(e.code_str(), "Throttling.User");
        assert_eq!(e.http_status(), 429);
        assert!(
            e.message.starts_with("Throttling.User: Request was denied"),
            "{}",
            e.message
        );
        assert!(e.message.contains("RequestId R-2") && e.message.contains("800 ms"));
        let e = err(answer(503, r#"{"Message":"down for maintenance"}"#));
        assert_eq!(e.code, ErrorCode::InternalException);
        assert_eq!(e.code_str(), "InternalException");
        assert!(e.message.starts_with("HTTP 503: down"), "{}", e.message);
    }

    #[test]
    fn bodies_that_are_not_esa_json() {
        for (status, body) in [(502, "<html>Bad Gateway</html>"), (200, "[1,2]"), (200, "")] {
            let e = err(answer(status, body));
            assert_eq!(e.code, ErrorCode::RemoteUnavailable, "{body}");
            assert!(e.origin.is_none());
            assert!(
                e.message.contains(&format!("HTTP {status}")),
                "{}",
                e.message
            );
        }
        let ok = into_reply(answer(200, r#"{"RequestId":"R","Id":"x"}"#), "A", "r").unwrap();
        assert_eq!(ok.request_id, "R");
        assert_eq!(ok.body["Id"], "x");
    }

    #[test]
    fn a_skewed_clock_shows_both_times() {
        let mut a = answer(
            403,
            r#"{"RequestId":"R-3","Code":"Unauthorized.InvalidTime","Message":"the request time is more than 15 minutes from the server's time"}"#,
        );
        a.date = Some("Wed, 01 Jan 2025 00:00:00 GMT".into());
        let e = err(a);
        assert_eq!(e.code, ErrorCode::InvalidTime);
        assert!(
            e.message
                .contains("the server's time is 2025-01-01T00:00:00Z"),
            "{}",
            e.message
        );
        assert!(e.message.contains("this machine's is"), "{}", e.message);
        assert_eq!(
            parse_http_date("Wed, 01 Jan 2025 00:00:00 GMT"),
            Some(1_735_689_600)
        );
        let note = clock_note(Some("Wed, 01 Jan 2025 00:00:00 GMT"), 1_735_689_600 + 1200);
        assert!(note.contains("1200 s ahead"), "{note}");
        let note = clock_note(Some("Wed, 01 Jan 2025 00:20:00 GMT"), 1_735_689_600);
        assert!(note.contains("1200 s behind"), "{note}");
        assert!(clock_note(None, 0).contains("sent no Date"));
        assert!(clock_note(Some("yesterday"), 0).contains("\"yesterday\""));
    }
}
