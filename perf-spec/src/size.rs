//! Byte sizes: `"100MB"`, `"4KiB"`, `"512B"`.
//!
//! Decimal units are powers of 1000 (`KB`, `MB`, `GB`, as disks and AWS
//! Lambda's memory settings count), binary units powers of 1024 (`KiB`,
//! `MiB`, `GiB`, as allocators count): `"100MB"` is 100,000,000 bytes,
//! `"100MiB"` 104,857,600.

/// Parses a size such as `"100MB"`, `"1.5GiB"` or `"64B"` into bytes.
pub fn parse_size(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return Err(format!(
            "`{s}` is not a size; write e.g. \"100MB\" or \"4KiB\""
        ));
    }
    let value: f64 = number
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{number}` is not a number; write e.g. \"100MB\""))?;
    let scale = match unit.trim() {
        "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "" => return Err(format!("`{s}` has no unit; write e.g. \"{number}MB\" (units: B, KB, MB, GB, KiB, MiB, GiB)")),
        other => {
            return Err(format!(
                "unknown size unit `{other}`; expected B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024)"
            ))
        }
    };
    Ok(value * scale)
}

/// Formats bytes for people in binary units: `512 B`, `4 KiB`, `1.21 MiB`.
pub fn format_size(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let digits = if unit == 0 || value.abs() >= 100.0 {
        0
    } else if value.abs() >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text} {}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_binary_units() {
        assert_eq!(parse_size("100MB"), Ok(100e6));
        assert_eq!(parse_size("100MiB"), Ok(104_857_600.0));
        assert_eq!(parse_size("4KiB"), Ok(4096.0));
        assert_eq!(parse_size("4 KB"), Ok(4000.0));
        assert_eq!(parse_size("1.5GiB"), Ok(1.5 * 1073741824.0));
        assert_eq!(parse_size("64B"), Ok(64.0));
        assert!(parse_size("64").unwrap_err().contains("no unit"));
        assert!(parse_size("64mb")
            .unwrap_err()
            .contains("unknown size unit `mb`"));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn formats_binary() {
        assert_eq!(format_size(512.0), "512 B");
        assert_eq!(format_size(4096.0), "4 KiB");
        assert_eq!(format_size(1_268_000.0), "1.21 MiB");
        assert_eq!(format_size(48.0), "48 B");
    }
}
