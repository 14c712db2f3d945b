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
    let bytes = value * scale;
    if !bytes.is_finite() {
        return Err(format!("`{s}` is too large a size"));
    }
    Ok(bytes)
}

/// Formats bytes for people in binary units: `512 B`, `4 KiB`, `1.21 MiB`.
pub fn format_size(bytes: f64) -> String {
    let (value, unit) = binary_unit(bytes);
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
    format!("{text} {}", BINARY_UNITS[unit])
}

const BINARY_UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];

/// `bytes` in the largest binary unit it reaches: (value, index into
/// [`BINARY_UNITS`]).
fn binary_unit(bytes: f64) -> (f64, usize) {
    let (mut value, mut unit) = (bytes, 0);
    while value.abs() >= 1024.0 && unit < BINARY_UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    (value, unit)
}

/// Formats a limit the way it was most likely written: in the largest
/// decimal (`1GB`, `500MB`) or binary (`4KiB`, `1MiB`) unit it is a whole
/// or one-decimal multiple of, else as [`format_size`] does.
pub fn format_size_limit(bytes: f64) -> String {
    const UNITS: [(f64, &str); 7] = [
        (1024.0 * 1024.0 * 1024.0, "GiB"),
        (1e9, "GB"),
        (1024.0 * 1024.0, "MiB"),
        (1e6, "MB"),
        (1024.0, "KiB"),
        (1e3, "KB"),
        (1.0, "B"),
    ];
    for (scale, unit) in UNITS {
        let n = bytes / scale;
        if n >= 1.0 && ((n * 10.0).round() - n * 10.0).abs() < 1e-9 {
            let text = format!("{n:.1}");
            return format!("{}{unit}", text.trim_end_matches('0').trim_end_matches('.'));
        }
    }
    format_size(bytes).replace(' ', "")
}

/// [`format_size`] with `extra` more decimals: enough digits to tell a
/// value from a limit it rounds to (`64.03 B` against `64B`).
pub fn format_size_digits(bytes: f64, extra: usize) -> String {
    if extra == 0 {
        return format_size(bytes);
    }
    let (value, unit) = binary_unit(bytes);
    format!("{value:.extra$} {}", BINARY_UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_show_as_written() {
        assert_eq!(format_size_limit(1e9), "1GB");
        assert_eq!(format_size_limit(500e6), "500MB");
        assert_eq!(format_size_limit(1_048_576.0), "1MiB");
        assert_eq!(format_size_limit(4096.0), "4KiB");
        assert_eq!(format_size_limit(1.5 * 1_073_741_824.0), "1.5GiB");
        assert_eq!(format_size_limit(64.0), "64B");
        assert_eq!(format_size_limit(500.0), "500B");
        assert_eq!(format_size_digits(64.032, 2), "64.03 B");
    }

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
