//! "Did you mean …?" for misspelt keys.

/// The candidate closest to `name` by edit distance, if it is close enough
/// to be a plausible typo (at most a third of the name's length, at least 1).
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (osa_distance(name, c), *c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: Levenshtein plus adjacent
/// transpositions, so `wrokers` is one edit from `workers`.
fn osa_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_only() {
        let keys = ["workers", "repeat", "duration", "warmup", "timeout"];
        assert_eq!(closest("wrokers", &keys), Some("workers"));
        assert_eq!(closest("worker", &keys), Some("workers"));
        assert_eq!(closest("repaet", &keys), Some("repeat"));
        assert_eq!(closest("durration", &keys), Some("duration"));
        assert_eq!(closest("zzz", &keys), None);
        assert_eq!(closest("concurrency", &keys), None);
    }
}
