//! Realistic, varied text for generated records: people, companies, addresses, phone
//! numbers and prose, so search and anonymization have something real to work on.

use crate::salesforce::rng::Rng;

pub use super::words::*;

/// A person: (first, last).
pub fn person(r: &mut Rng) -> (&'static str, &'static str) {
    (*r.pick(FIRST_NAMES), *r.pick(LAST_NAMES))
}

/// A company name.
pub fn company(r: &mut Rng) -> String {
    let suffix = *r.pick(COMPANY_SUFFIX);
    let mut s = format!("{} {}", r.pick(COMPANY_FIRST), r.pick(COMPANY_SECOND));
    if !suffix.is_empty() {
        s.push(' ');
        s.push_str(suffix);
    }
    s
}

/// A lower-case domain for a company name.
pub fn domain(company: &str, r: &mut Rng) -> String {
    let slug: String = company
        .split_whitespace()
        .take(2)
        .flat_map(|w| w.chars())
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let tld = r.pick_str(&["com", "com", "com", "io", "net", "co.uk", "de", "org"]);
    format!("{slug}.{tld}")
}

/// `first.last@domain`, with some variety in the local part.
pub fn email(first: &str, last: &str, domain: &str, r: &mut Rng) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let (f, l) = (clean(first), clean(last));
    match r.below(4) {
        0 => format!("{f}.{l}@{domain}"),
        1 => format!("{}{l}@{domain}", &f[..1.min(f.len())]),
        2 => format!("{f}_{l}{}@{domain}", r.below(90) + 10),
        _ => format!("{f}@{domain}"),
    }
}

/// A place from [`PLACES`].
pub fn place(
    r: &mut Rng,
) -> &'static (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    r.pick(PLACES)
}

/// A street address line.
pub fn street(r: &mut Rng) -> String {
    let mut s = format!(
        "{} {} {}",
        r.range(1, 9999),
        r.pick(STREETS),
        r.pick(STREET_KINDS)
    );
    if r.chance(0.15) {
        s.push_str(&format!("\nSuite {}", r.range(100, 1999)));
    }
    s
}

/// A postal code following the place's pattern.
pub fn postal_code(pattern: &str, r: &mut Rng) -> String {
    pattern
        .chars()
        .map(|c| {
            if c == '#' {
                char::from(b'0' + r.below(10) as u8)
            } else {
                c
            }
        })
        .collect()
}

/// A phone number with the place's prefix.
pub fn phone(prefix: &str, r: &mut Rng) -> String {
    if let Some(area) = prefix.strip_prefix("+1 ") {
        format!("({area}) 555-{:04}", r.below(10_000))
    } else {
        format!("{prefix} {} {:04}", r.range(100, 999), r.below(10_000))
    }
}

/// A sentence or two of business prose mentioning `company`.
pub fn description(company: &str, r: &mut Rng) -> String {
    let mut s = format!("{} {} {}.", company, r.pick(VERBS), r.pick(PRODUCTS));
    for _ in 0..r.below(3) {
        s.push(' ');
        s.push_str(r.pick_str(FOLLOW_UPS));
    }
    s
}

/// Free-form note prose.
pub fn note(r: &mut Rng) -> String {
    let mut s = String::new();
    for i in 0..r.range(1, 4) {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(r.pick_str(FOLLOW_UPS));
    }
    s
}

/// A product-like name for opportunities and projects.
pub fn deal_name(company: &str, r: &mut Rng) -> String {
    let what = *r.pick(&[
        "Expansion",
        "Renewal",
        "Pilot",
        "Upgrade",
        "New Logo",
        "Migration",
        "Rollout",
        "Support Contract",
        "Add-on",
        "Enterprise Agreement",
    ]);
    format!("{company} - {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_text_looks_right() {
        let mut r = Rng::new(3);
        let c = company(&mut r);
        assert!(c.split(' ').count() >= 2);
        let d = domain(&c, &mut r);
        assert!(d.contains('.') && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'));
        let e = email("Zoë", "O'Brien", &d, &mut r);
        assert!(e.ends_with(&d) && e.contains('@') && !e.contains('\''));
        assert_eq!(postal_code("941##", &mut r).len(), 5);
        assert!(phone("+1 415", &mut r).starts_with("(415) 555-"));
        assert!(description(&c, &mut r).starts_with(&c));
    }
}
