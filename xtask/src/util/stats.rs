//! Summaries of repeated measurements: min, median, max.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Summary {
    /// Of `values`, which must not be empty; an even count's median is the
    /// mean of the middle two.
    pub fn of(values: &[f64]) -> Self {
        assert!(!values.is_empty(), "a summary needs at least one value");
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Self {
            min: v[0],
            median,
            max: v[v.len() - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(
            Summary::of(&[3.0, 1.0, 2.0]),
            Summary {
                min: 1.0,
                median: 2.0,
                max: 3.0
            }
        );
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).median, 2.5);
        assert_eq!(
            Summary::of(&[7.0]),
            Summary {
                min: 7.0,
                median: 7.0,
                max: 7.0
            }
        );
    }
}
