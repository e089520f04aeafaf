//! The squarified treemap layout of Bruls, Huizing and van Wijk ("Squarified
//! Treemaps", 2000): rectangles whose areas are proportional to their
//! values, laid row by row along the shorter side of what is left, each row
//! closed when one more item would make its worst aspect ratio worse.

use serde::{Deserialize, Serialize};

/// A rectangle: left, top, width, height, in the units of the area laid out.
/// As JSON `[x, y, w, h]`, to a thousandth of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 4]", into = "[f64; 4]")]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl From<[f64; 4]> for Rect {
    fn from([x, y, w, h]: [f64; 4]) -> Self {
        Rect { x, y, w, h }
    }
}

impl From<Rect> for [f64; 4] {
    fn from(r: Rect) -> Self {
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        [round(r.x), round(r.y), round(r.w), round(r.h)]
    }
}

impl Rect {
    pub fn area(&self) -> f64 {
        self.w * self.h
    }

    /// This rectangle with the given margins taken off; `None` if nothing is left.
    pub fn inset(&self, left: f64, top: f64, right: f64, bottom: f64) -> Option<Rect> {
        let r = Rect {
            x: self.x + left,
            y: self.y + top,
            w: self.w - left - right,
            h: self.h - top - bottom,
        };
        (r.w > 0.0 && r.h > 0.0).then_some(r)
    }
}

/// Lays `values` out in `area`: one rectangle per value, in the order
/// given, whose areas are proportional to the values and together fill
/// `area`. Values should be sorted largest first (the algorithm's premise);
/// a value of 0 gets `None`.
pub fn squarify(values: &[u64], area: Rect) -> Vec<Option<Rect>> {
    let mut out = vec![None; values.len()];
    let total: f64 = values.iter().map(|&v| v as f64).sum();
    if total <= 0.0 || area.w <= 0.0 || area.h <= 0.0 {
        return out;
    }
    let scale = area.area() / total;
    // (index, area) of the items to place, zeros left out.
    let items: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter(|(_, &v)| v > 0)
        .map(|(i, &v)| (i, v as f64 * scale))
        .collect();
    let mut free = area;
    let mut start = 0;
    while start < items.len() {
        let side = free.w.min(free.h);
        let mut end = start + 1;
        while end < items.len()
            && worst(&items[start..=end], side) <= worst(&items[start..end], side)
        {
            end += 1;
        }
        // The last row takes what is left, so rounding never leaves a gap.
        let row = &items[start..end];
        let row_area: f64 = if end == items.len() {
            free.area()
        } else {
            row.iter().map(|(_, a)| a).sum()
        };
        let row_sum: f64 = row.iter().map(|(_, a)| a).sum();
        free = place_row(row, row_sum, row_area, free, &mut out);
        start = end;
    }
    out
}

/// The worst aspect ratio (≥ 1) among `row` laid along a side of `side`.
fn worst(row: &[(usize, f64)], side: f64) -> f64 {
    let sum: f64 = row.iter().map(|(_, a)| a).sum();
    let (min, max) = row.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &(_, a)| {
        (lo.min(a), hi.max(a))
    });
    let s2 = sum * sum;
    let w2 = side * side;
    (w2 * max / s2).max(s2 / (w2 * min))
}

/// Places `row` as a strip of `row_area` along the shorter side of `free`
/// (each item its share of `row_sum`); returns what is left of `free`.
fn place_row(
    row: &[(usize, f64)],
    row_sum: f64,
    row_area: f64,
    free: Rect,
    out: &mut [Option<Rect>],
) -> Rect {
    if free.w >= free.h {
        // A column at the left, items stacked top to bottom.
        let thick = (row_area / free.h).min(free.w);
        let mut y = free.y;
        for (k, &(i, a)) in row.iter().enumerate() {
            let h = match k + 1 == row.len() {
                true => free.y + free.h - y,
                false => free.h * a / row_sum,
            };
            out[i] = Some(Rect {
                x: free.x,
                y,
                w: thick,
                h,
            });
            y += h;
        }
        Rect {
            x: free.x + thick,
            y: free.y,
            w: free.w - thick,
            h: free.h,
        }
    } else {
        // A row at the top, items side by side left to right.
        let thick = (row_area / free.w).min(free.h);
        let mut x = free.x;
        for (k, &(i, a)) in row.iter().enumerate() {
            let w = match k + 1 == row.len() {
                true => free.x + free.w - x,
                false => free.w * a / row_sum,
            };
            out[i] = Some(Rect {
                x,
                y: free.y,
                w,
                h: thick,
            });
            x += w;
        }
        Rect {
            x: free.x,
            y: free.y + thick,
            w: free.w,
            h: free.h - thick,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: Rect = Rect {
        x: 10.0,
        y: 20.0,
        w: 600.0,
        h: 400.0,
    };

    fn overlap(a: &Rect, b: &Rect) -> f64 {
        let w = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
        let h = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
        w.max(0.0) * h.max(0.0)
    }

    /// Areas proportional to the values, inside the area, no two
    /// overlapping, together filling it.
    fn assert_treemap(values: &[u64], rects: &[Option<Rect>]) {
        let total: u64 = values.iter().sum();
        let eps = 1e-6 * AREA.area();
        let mut placed = Vec::new();
        for (v, r) in values.iter().zip(rects) {
            let Some(r) = r else {
                assert_eq!(*v, 0, "a value without a rectangle");
                continue;
            };
            let want = AREA.area() * *v as f64 / total as f64;
            assert!((r.area() - want).abs() < eps, "{v}: {r:?} is not {want}");
            assert!(r.x >= AREA.x - 1e-9 && r.y >= AREA.y - 1e-9, "{r:?}");
            assert!(r.x + r.w <= AREA.x + AREA.w + 1e-9, "{r:?}");
            assert!(r.y + r.h <= AREA.y + AREA.h + 1e-9, "{r:?}");
            placed.push(*r);
        }
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                assert!(overlap(a, b) < eps, "{a:?} overlaps {b:?}");
            }
        }
        let covered: f64 = placed.iter().map(Rect::area).sum();
        assert!((covered - AREA.area()).abs() < eps);
    }

    #[test]
    fn areas_are_proportional_and_tile_the_area() {
        let cases: [&[u64]; 6] = [
            &[6, 6, 4, 3, 2, 2, 1],
            &[1],
            &[5, 0, 3],
            &[1_000_000, 1, 1, 1],
            &[7; 40],
            &[
                9000, 4000, 3500, 1200, 800, 640, 512, 300, 100, 64, 12, 3, 1,
            ],
        ];
        for values in cases {
            assert_treemap(values, &squarify(values, AREA));
        }
    }

    #[test]
    fn the_papers_example_gives_its_rows() {
        // Bruls et al., figure 1: 6 6 4 3 2 2 1 in a 6×4 rectangle. The
        // first row is 6 6, a column of width 3 at the left; then 4 3
        // across the top of what is left; then 2 2 1.
        let r = squarify(
            &[6, 6, 4, 3, 2, 2, 1],
            Rect {
                x: 0.0,
                y: 0.0,
                w: 6.0,
                h: 4.0,
            },
        );
        let r: Vec<Rect> = r.into_iter().map(Option::unwrap).collect();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(r[0].w, 3.0) && close(r[0].h, 2.0), "{:?}", r[0]);
        assert!(close(r[1].x, 0.0) && close(r[1].y, 2.0), "{:?}", r[1]);
        assert!(close(r[2].x, 3.0) && close(r[2].y, 0.0), "{:?}", r[2]);
        assert!(close(r[2].h, 7.0 / 3.0), "{:?}", r[2]);
        assert!(close(r[3].y, 0.0) && close(r[2].h, r[3].h), "{:?}", r[3]);
        assert!(r[4].y > r[2].h - 1e-9, "{:?}", r[4]);
    }

    #[test]
    fn squares_stay_near_square() {
        // Equal values in a square area: squarified gives near-squares,
        // where a slice-and-dice layout would give 1×64 slivers.
        let values = [1u64; 64];
        let square = Rect {
            x: 0.0,
            y: 0.0,
            w: 80.0,
            h: 80.0,
        };
        for r in squarify(&values, square).into_iter().flatten() {
            let ratio = (r.w / r.h).max(r.h / r.w);
            assert!(ratio < 2.0, "{r:?}");
        }
    }

    #[test]
    fn nothing_to_lay_out_gives_no_rectangles() {
        assert_eq!(squarify(&[0, 0], AREA), [None, None]);
        assert!(squarify(&[], AREA).is_empty());
        let flat = Rect { h: 0.0, ..AREA };
        assert_eq!(squarify(&[3], flat), [None]);
    }
}
