//! Server-rendered SVG charts (no script): the drill-down's items-per-day bars.
//!
//! The SVG is built only from numbers and dates formatted here, never from user text, so
//! it can be inserted into the page unescaped.

use std::fmt::Write as _;

use chrono::NaiveDate;

/// One day's bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DayBar {
    pub day: NaiveDate,
    pub items: u64,
}

const WIDTH: u32 = 720;
const HEIGHT: u32 = 220;
const LEFT: u32 = 48;
const BOTTOM: u32 = 28;
const TOP: u32 = 12;

/// A bar chart of `bars` (oldest first), with a labelled y axis and a date under every
/// few bars; each bar carries a `<title>` with its date and count.
pub(crate) fn items_per_day_svg(bars: &[DayBar]) -> String {
    let real_max = bars.iter().map(|b| b.items).max().unwrap_or(0);
    let max = real_max.max(1);
    let plot_w = WIDTH - LEFT - 8;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = u32::try_from(bars.len()).unwrap_or(u32::MAX).max(1);
    let slot = f64::from(plot_w) / f64::from(n);
    let bar_w = (slot * 0.7).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Items backed up per day" xmlns="http://www.w3.org/2000/svg">"#
    );
    let base_y = TOP + plot_h;
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{base_y}" x2="{}" y2="{base_y}" stroke="#94a3b8"/>"##,
        WIDTH - 8
    );
    // Axis labels at 0, half and the top, without repeating a value (an empty range
    // shows only 0).
    let mut ticks = vec![(0, base_y)];
    if real_max >= 2 {
        let mid_y = f64::from(base_y) - (real_max / 2) as f64 / max as f64 * f64::from(plot_h);
        ticks.push((real_max / 2, mid_y.round() as u32));
    }
    if real_max >= 1 {
        ticks.push((real_max, TOP));
    }
    for (value, y) in ticks {
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#64748b">{value}</text>"##,
            LEFT - 6,
            y + 4
        );
    }
    let label_every = (bars.len() / 7).max(1);
    for (i, bar) in bars.iter().enumerate() {
        let x = f64::from(LEFT) + slot * i as f64 + (slot - bar_w) / 2.0;
        let h = (bar.items as f64 / max as f64) * f64::from(plot_h);
        let y = f64::from(base_y) - h;
        let day = bar.day.format("%Y-%m-%d");
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}" fill="#2563eb"><title>{day}: {} items</title></rect>"##,
            bar.items
        );
        if i % label_every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle" fill="#64748b">{}</text>"##,
                x + bar_w / 2.0,
                HEIGHT - 10,
                bar.day.format("%m-%d")
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_day() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let svg = items_per_day_svg(&[
            DayBar {
                day: day(1),
                items: 0,
            },
            DayBar {
                day: day(2),
                items: 50,
            },
            DayBar {
                day: day(3),
                items: 100,
            },
        ]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("2026-03-03: 100 items"));
        // The tallest bar fills the plot height (220 - 12 - 28 = 180).
        assert!(svg.contains(r#"height="180.0""#), "{svg}");
        assert!(svg.contains(r#"height="90.0""#));
    }

    #[test]
    fn an_empty_range_still_draws_axes() {
        let svg = items_per_day_svg(&[]);
        assert!(svg.contains("<line"));
        assert_eq!(svg.matches("<rect").count(), 0);
        assert_eq!(svg.matches("<text").count(), 1, "only the 0 label: {svg}");
    }
}
