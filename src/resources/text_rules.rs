//! Rules for text fields that several kinds share: email addresses and API endpoint URLs.
//!
//! Each rule returns `Err((message, hint))` describing what is wrong and what to
//! write instead; the caller attaches the field path.

/// What is wrong with a value, and what to write instead.
pub type Broken = (String, Option<String>);

/// Longest email address the vendor APIs accept.
pub const EMAIL_MAX_CHARS: usize = 254;

/// A plausible email address: one `@`, non-empty local and domain parts, a dot
/// inside the domain, no whitespace or control characters, at most
/// [`EMAIL_MAX_CHARS`] characters.
pub fn email(value: &str) -> Result<(), Broken> {
    let plain = |message: &str| {
        Err((
            format!("`{value}` is not an email address: {message}"),
            None,
        ))
    };
    if value.chars().count() > EMAIL_MAX_CHARS {
        return Err((
            format!(
                "the email address is {} characters long; at most {EMAIL_MAX_CHARS} are allowed",
                value.chars().count()
            ),
            None,
        ));
    }
    if value.chars().any(char::is_whitespace) {
        return plain("it contains whitespace");
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err((
            format!(
                "the email address contains the control character U+{:04X}",
                u32::from(c)
            ),
            Some(
                "remove it: write the address as plain text, as in `licensing@example.com`".into(),
            ),
        ));
    }
    let Some((local, domain)) = value.split_once('@') else {
        return plain("it has no `@`");
    };
    if domain.contains('@') {
        return plain("it has more than one `@`");
    }
    if local.is_empty() {
        return plain("nothing before the `@`");
    }
    if domain.is_empty() {
        return plain("nothing after the `@`");
    }
    let dotted = domain
        .split_once('.')
        .is_some_and(|(head, tail)| !head.is_empty() && !tail.is_empty() && !tail.ends_with('.'));
    if !dotted {
        return plain("the domain after `@` needs a dot, as in `example.com`");
    }
    Ok(())
}

/// Hosts for which plain `http://` is allowed: the loopback interface, where a
/// simulator listens.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "::1", "localhost"];

/// An API endpoint: `https://host[:port][/path]`, or `http://` to a loopback host.
/// Credentials inside the URL are refused: secrets come from the environment.
pub fn endpoint(value: &str) -> Result<(), Broken> {
    let (scheme, rest) = match value.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => {
            return Err((
                format!("`{value}` is not a URL"),
                Some(format!("write it with its scheme, e.g. `https://{value}`")),
            ));
        }
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err((
            format!("`{value}` is not a URL: it contains whitespace"),
            None,
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err((
            "the endpoint URL must not contain credentials".to_owned(),
            Some("remove the `user:password@` part; credentials come from the environment (OS_USERNAME, OS_PASSWORD or OS_TOKEN)".to_owned()),
        ));
    }
    let host = host_of(authority)
        .map_err(|problem| (format!("`{value}` is not a URL: {problem}"), None))?;
    match scheme.as_str() {
        "https" => Ok(()),
        "http" if LOOPBACK_HOSTS.contains(&host.to_ascii_lowercase().as_str()) => Ok(()),
        "http" => Err((
            format!(
                "plain `http://` is allowed only for a loopback host (127.0.0.1, ::1, localhost), not `{host}`"
            ),
            Some(format!("use `https://{rest}`")),
        )),
        other => Err((
            format!("unsupported URL scheme `{other}`; the endpoint must be `https://`"),
            Some(format!("use `https://{rest}`")),
        )),
    }
}

/// The host of `host[:port]` or `[v6addr][:port]`.
fn host_of(authority: &str) -> Result<&str, &'static str> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or("unclosed `[` in the host")?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("unexpected text after `]`")?),
        };
        (host, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("the host is empty");
    }
    if let Some(port) = port
        && (port.is_empty() || port.parse::<u16>().is_err())
    {
        return Err("the port must be a number from 0 to 65535");
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_emails_pass() {
        assert!(email("ops@example.co.jp").is_ok());
        assert!(email("a.b+tag@sub.example.com").is_ok());
    }

    #[test]
    fn implausible_emails_fail_with_reason() {
        let reason = |v: &str| email(v).unwrap_err().0;
        assert!(reason("opsexample.com").contains("no `@`"));
        assert!(reason("a@b@example.com").contains("more than one"));
        assert!(reason("@example.com").contains("before"));
        assert!(reason("ops@").contains("after"));
        assert!(reason("ops@localhost").contains("dot"));
        assert!(reason("ops@example.").contains("dot"));
        assert!(reason("o ps@example.com").contains("whitespace"));
        assert!(reason("o\0ps@example.com").contains("U+0000"));
        assert!(reason("o\u{1b}ps@example.com").contains("U+001B"));
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(reason(&long).contains("at most 254"));
    }

    #[test]
    fn https_endpoints_pass() {
        assert!(endpoint("https://soy-jp1-ecl.api.ntt.com").is_ok());
        assert!(endpoint("https://example.com:8443/base?x=1").is_ok());
        assert!(endpoint("HTTPS://example.com").is_ok());
    }

    #[test]
    fn http_only_to_loopback() {
        assert!(endpoint("http://127.0.0.1:8080").is_ok());
        assert!(endpoint("http://[::1]:8080/").is_ok());
        assert!(endpoint("http://localhost").is_ok());
        assert!(endpoint("http://LOCALHOST:1").is_ok());
        let (message, hint) = endpoint("http://example.com/x").unwrap_err();
        assert!(message.contains("loopback"), "{message}");
        assert_eq!(hint.as_deref(), Some("use `https://example.com/x`"));
        assert!(endpoint("http://127.0.0.2").is_err());
        assert!(endpoint("http://localhost.evil.com").is_err());
    }

    #[test]
    fn malformed_endpoints_fail() {
        assert!(endpoint("example.com").is_err());
        assert!(endpoint("ftp://example.com").is_err());
        assert!(endpoint("https://").is_err());
        assert!(endpoint("https://:80").is_err());
        assert!(endpoint("https://host:port").is_err());
        assert!(endpoint("https://[::1").is_err());
        assert!(endpoint("https://exa mple.com").is_err());
        assert!(
            endpoint("https://user:pw@example.com")
                .unwrap_err()
                .0
                .contains("credentials")
        );
    }
}
