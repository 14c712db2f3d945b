//! Failed iterations grouped by what went wrong, not by every byte of
//! their message. An error's `Debug` text carries what differs between
//! requests (URLs, ids, ports, request ids), so grouping by the whole
//! text gives one group per request; and its cause is often at the end,
//! where a cut message loses it ("Connection refused" inside a reqwest
//! error). So:
//!
//! - a message's **group** is its [`fingerprint`]: URLs become `<url>`,
//!   runs of four or more digits `<n>`, and words of eight or more
//!   characters mixing digits with letters (UUIDs, request and instance
//!   ids, hashes) `<id>`; status codes and error names stay as written;
//! - each group keeps one whole message as its example, and its
//!   [`root_cause`]: the last line of an `anyhow`-style `Caused by:`
//!   chain, else the innermost `message: "…"` or `error: "…"` (an
//!   `io::Error`'s `Debug` forms, as nested in reqwest, hyper and AWS SDK
//!   errors);
//! - the summary shows the group, cut to a line, and the cause in full.
//!
//! Before any of that, a message is [`redact`]ed: the userinfo of a URL
//! (`user:password@`) and the values of its query and fragment
//! (`?token=…`) are secrets more often than not, and a message is printed
//! in the summary and kept in the JSON report.
use std::borrow::Cow;

/// An error and its sources, each in its `Display` form, joined by ": "
/// (the AWS SDK's `DisplayErrorContext` ends with a `Debug` dump, too long
/// for a summary line; hyper's errors say "http2 error" without it).
#[cfg_attr(
    not(any(
        feature = "http",
        feature = "lambda",
        feature = "dynamodb",
        feature = "stepfunctions",
        feature = "eventbridge",
        feature = "cloudwatch",
        feature = "s3"
    )),
    allow(dead_code)
)]
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// What a secret is replaced with.
const HIDDEN: &str = "***";

/// `message` with every URL in it [`redact_url`]ed (borrowed when it has
/// none: the common case costs one scan).
pub(crate) fn redact(message: &str) -> Cow<'_, str> {
    if !message.contains("://") {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        if let Some(len) = url_len(rest) {
            out.push_str(&redact_url(&rest[..len]));
            rest = &rest[len..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if out == message {
        Cow::Borrowed(message)
    } else {
        Cow::Owned(out)
    }
}

/// A URL as it may be shown and stored: its userinfo hidden
/// (`http://***@host/`), and the values of its query and fragment
/// parameters (`?token=***&id=***`), their names kept.
pub(crate) fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return Cow::Borrowed(url);
    };
    let after = &url[scheme_end..];
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..authority_end];
    let tail = &after[authority_end..];
    let userinfo = authority.rfind('@');
    let query = tail.find(['?', '#']);
    if userinfo.is_none() && query.is_none() {
        return Cow::Borrowed(url);
    }
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..scheme_end]);
    match userinfo {
        Some(at) => {
            out.push_str(HIDDEN);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let Some(q) = query else {
        out.push_str(tail);
        return Cow::Owned(out);
    };
    out.push_str(&tail[..q]);
    // The parameters after `?` and after `#`, each `name=value` cut to
    // `name=***` (a bare `value` becomes `***`).
    for (i, part) in tail[q..].split_inclusive(['?', '#', '&', ';']).enumerate() {
        let (body, sep) = match part.char_indices().last() {
            Some((j, c)) if matches!(c, '?' | '#' | '&' | ';') && !(i == 0 && j == 0) => {
                (&part[..j], &part[j..])
            }
            _ => (part, ""),
        };
        let (lead, pair) = match body.chars().next() {
            Some(c @ ('?' | '#')) => (&body[..c.len_utf8()], &body[c.len_utf8()..]),
            _ => ("", body),
        };
        out.push_str(lead);
        match pair.split_once('=') {
            Some((name, _)) => {
                out.push_str(name);
                out.push('=');
                out.push_str(HIDDEN);
            }
            None if pair.is_empty() => {}
            None => out.push_str(HIDDEN),
        }
        out.push_str(sep);
    }
    Cow::Owned(out)
}

/// The group a message belongs to (see the module docs).
pub(crate) fn fingerprint(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(c) = rest.chars().next() {
        if let Some(len) = url_len(rest) {
            out.push_str("<url>");
            rest = &rest[len..];
            continue;
        }
        if let Some(len) = task_id_len(rest) {
            // tokio's `JoinError::Panic(Id(10), …)`: a task id per panic.
            out.push_str("Id(<n>)");
            rest = &rest[len..];
            continue;
        }
        if c.is_ascii_alphanumeric() {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            out.push_str(normalise_word(&rest[..len]));
            rest = &rest[len..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of a tokio task id (`Id(10)`) at the start of `s`.
fn task_id_len(s: &str) -> Option<usize> {
    let digits = s.strip_prefix("Id(")?;
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0 && digits[n..].starts_with(')')).then_some(3 + n + 1)
}

/// A word as it appears in a fingerprint.
fn normalise_word(word: &str) -> &str {
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    let letters = word.bytes().filter(u8::is_ascii_alphabetic).count();
    if digits >= 4 && letters == 0 {
        "<n>"
    } else if word.len() >= 8 && digits > 0 && letters > 0 {
        "<id>"
    } else {
        word
    }
}

/// The length of a URL at the start of `s` (`scheme://…` up to a space,
/// quote or closing bracket), if one starts there.
fn url_len(s: &str) -> Option<usize> {
    let scheme = s
        .find("://")
        .filter(|&i| i > 0 && s[..i].bytes().all(|b| b.is_ascii_alphabetic()))?;
    let end = s[scheme + 3..]
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | ']' | '}' | '>' | ','))
        .map_or(s.len(), |i| scheme + 3 + i);
    Some(end)
}

/// The innermost cause a `Debug` text names, if it names one apart from
/// itself (see the module docs).
pub(crate) fn root_cause(message: &str) -> Option<String> {
    if let Some((_, chain)) = message.rsplit_once("Caused by:") {
        let last = chain.lines().map(str::trim).rfind(|l| !l.is_empty())?;
        let last = last
            .split_once(": ")
            .filter(|(n, _)| n.bytes().all(|b| b.is_ascii_digit()))
            .map_or(last, |(_, cause)| cause);
        return Some(last.to_owned());
    }
    // `Os { …, message: "…" }` and `Custom { kind: …, error: "…" }`.
    let start = ["message: \"", "error: \""]
        .iter()
        .filter_map(|field| message.rfind(field).map(|i| i + field.len()))
        .max()?;
    let end = message[start..].find('"')? + start;
    let cause = &message[start..end];
    (!cause.is_empty() && cause.len() < message.len()).then(|| cause.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_urls_are_hidden_and_the_rest_kept() {
        let r = |u: &str| redact_url(u).into_owned();
        assert_eq!(r("http://user:PASS@host:80/a/b"), "http://***@host:80/a/b");
        assert_eq!(
            r("https://h/p?token=abc&id=42"),
            "https://h/p?token=***&id=***"
        );
        assert_eq!(r("https://h/p?secret"), "https://h/p?***");
        assert_eq!(
            r("https://h/p#access_token=x&t=1"),
            "https://h/p#access_token=***&t=***"
        );
        assert_eq!(r("http://u:p@h/?a=1#b=2"), "http://***@h/?a=***#b=***");
        assert_eq!(r("http://h/?"), "http://h/?");
        assert_eq!(r("http://h/?a=1&&b"), "http://h/?a=***&&***");
        // Nothing secret: the very same text, not a copy.
        assert!(matches!(
            redact_url("http://127.0.0.1:8080/orders/42"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(redact("no url here"), Cow::Borrowed(_)));
        // In a message: every URL, wherever it is.
        assert_eq!(
            redact(r#"GET "http://a:b@h/x?k=v" failed; retry https://h2/?t=1 later"#),
            r#"GET "http://***@h/x?k=***" failed; retry https://h2/?t=*** later"#
        );
        // A password with an `@` in it: the last `@` ends the userinfo.
        assert_eq!(r("http://u:p@ss@h/"), "http://***@h/");
    }

    #[test]
    fn requests_that_differ_only_in_urls_and_ids_are_one_group() {
        let a = r#"reqwest::Error { kind: Request, url: "http://127.0.0.1:8123/orders/77812?req=5f0c2a9e-1b2c-4d5e-9f00-a1b2c3d4e5f6", source: hyper_util::client::legacy::Error(Connect, ConnectError("tcp connect error", Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })) }"#;
        let b = a
            .replace("77812", "90001")
            .replace(
                "5f0c2a9e-1b2c-4d5e-9f00-a1b2c3d4e5f6",
                "0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f",
            )
            .replace("8123", "8124");
        assert_eq!(fingerprint(a), fingerprint(&b));
        assert!(
            fingerprint(a).contains("url: \"<url>\""),
            "{}",
            fingerprint(a)
        );
        assert_eq!(root_cause(a).as_deref(), Some("Connection refused"));
    }

    #[test]
    fn what_tells_errors_apart_is_kept() {
        // Status codes, error names and short numbers are the error.
        assert_ne!(
            fingerprint("HTTP 503 Service Unavailable"),
            fingerprint("HTTP 500 Internal")
        );
        assert_eq!(fingerprint("HTTP 503"), "HTTP 503");
        assert_eq!(
            fingerprint("ThrottlingException: Rate exceeded (RequestId: 8b1c0f3e7a)"),
            "ThrottlingException: Rate exceeded (RequestId: <id>)"
        );
        assert_eq!(fingerprint("order 123456 not found"), "order <n> not found");
        assert_eq!(fingerprint(""), "");
        // 20 panics of one task body are one group, whatever their ids.
        assert_eq!(
            fingerprint(r#"JoinError::Panic(Id(10), "boom", ..)"#),
            fingerprint(r#"JoinError::Panic(Id(7), "boom", ..)"#)
        );
        assert_eq!(fingerprint("Id(x)"), "Id(x)");
        assert_eq!(fingerprint("ünïcode → fine"), "ünïcode → fine");
    }

    #[test]
    fn the_cause_is_the_end_of_the_chain() {
        let anyhow = "placing the order\n\nCaused by:\n    0: calling the payment service\n    1: connection reset by peer";
        assert_eq!(
            root_cause(anyhow).as_deref(),
            Some("connection reset by peer")
        );
        assert_eq!(root_cause("plain failure"), None);
        assert_eq!(root_cause(r#"Custom { kind: Other, message: "" }"#), None);
        let io = format!("{:?}", std::io::Error::other("disk full"));
        assert_eq!(root_cause(&io).as_deref(), Some("disk full"), "{io}");
    }
}
