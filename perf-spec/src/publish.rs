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
