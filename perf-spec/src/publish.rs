//! Where a perf test publishes its metrics: `cloudwatch`, `emf` (stdout)
//! or `emf:<path>`, comma-separated.

/// One destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishTarget {
    /// `PutMetricData`.
    CloudWatch,
    /// EMF lines on stdout.
    Emf,
    /// EMF lines appended to a file.
    EmfFile(String),
}

/// Parses one destination.
pub fn parse_publish_target(text: &str) -> Result<PublishTarget, String> {
    match text.trim() {
        "cloudwatch" => Ok(PublishTarget::CloudWatch),
        "emf" => Ok(PublishTarget::Emf),
        t => match t.strip_prefix("emf:").map(str::trim) {
            Some(path) if !path.is_empty() => Ok(PublishTarget::EmfFile(path.to_owned())),
            _ => Err(format!(
                "`{t}` is not a destination: use `cloudwatch`, `emf` (stdout) or `emf:<path>`"
            )),
        },
    }
}

/// Parses comma-separated destinations (at least one).
pub fn parse_publish_targets(text: &str) -> Result<Vec<PublishTarget>, String> {
    let targets: Vec<PublishTarget> = text
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(parse_publish_target)
        .collect::<Result<_, _>>()?;
    if targets.is_empty() {
        return Err("no destination: use `cloudwatch`, `emf` or `emf:<path>`".into());
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(
            parse_publish_targets("cloudwatch, emf:/tmp/m.log,emf").unwrap(),
            [
                PublishTarget::CloudWatch,
                PublishTarget::EmfFile("/tmp/m.log".into()),
                PublishTarget::Emf
            ]
        );
        assert!(parse_publish_targets("cloudwatc")
            .unwrap_err()
            .contains("`cloudwatc`"));
        assert!(parse_publish_targets("emf:").is_err());
        assert!(parse_publish_targets(" , ").is_err());
    }
}

/// The longest CloudWatch namespace (AWS's limit).
pub const MAX_NAMESPACE_LEN: usize = 255;

/// Checks a CloudWatch namespace: not empty, at most 255 characters, not
/// starting with `AWS/` (reserved for AWS services).
pub fn check_namespace(namespace: &str) -> Result<(), String> {
    if namespace.starts_with("AWS/") {
        return Err("names starting with `AWS/` are reserved for AWS services".into());
    }
    if namespace.trim().is_empty() || namespace.chars().count() > MAX_NAMESPACE_LEN {
        return Err(format!(
            "takes a CloudWatch namespace: a non-empty string of at most {MAX_NAMESPACE_LEN} characters, e.g. \"Performance/Testing\""
        ));
    }
    Ok(())
}

/// Parses a significance level: a finite number in (0, 0.5].
pub fn parse_alpha(text: &str) -> Result<f64, String> {
    let a: f64 = text.trim().parse().map_err(|_| {
        "expected a significance level, a number in (0, 0.5] such as 0.05".to_owned()
    })?;
    if !a.is_finite() || a <= 0.0 || a > 0.5 {
        return Err(format!(
            "a significance level is a number in (0, 0.5] such as 0.05, not {a}"
        ));
    }
    Ok(a)
}

#[cfg(test)]
mod check_tests {
    use super::*;

    #[test]
    fn namespaces_and_alphas() {
        assert!(check_namespace("Performance/Testing").is_ok());
        assert!(check_namespace("AWS/x").unwrap_err().contains("reserved"));
        assert!(check_namespace("").is_err());
        assert!(check_namespace(&"n".repeat(256)).is_err());
        assert!(check_namespace(&"n".repeat(255)).is_ok());
        assert_eq!(parse_alpha("0.01"), Ok(0.01));
        assert_eq!(parse_alpha("0.5"), Ok(0.5));
        for bad in ["NaN", "-1", "0", "5", "0.51", "inf", "lots", ""] {
            assert!(parse_alpha(bad).is_err(), "{bad}");
        }
    }
}
