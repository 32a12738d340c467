//! The emulated clock and Salesforce's date and date-time formats.
//!
//! The org lives on its own clock: it starts at a fixed instant (so the same seed yields
//! the same org), runs with real time (or stays frozen for tests), and only ever moves
//! forward, either by itself or when the control API advances it. Every timestamp the org
//! writes (SystemModstamp, token issue times, recycle-bin ages, API usage windows) comes
//! from here.
//!
//! Internally a date-time is milliseconds since the Unix epoch (UTC) and a date is days
//! since the epoch; the wire forms are `2026-11-22T10:00:00.000+0000` and `2026-11-22`.

use std::time::Instant;

use parking_lot::Mutex;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The emulated clock. Cheap to read from many threads.
#[derive(Debug)]
pub struct Clock {
    state: Mutex<ClockState>,
}

#[derive(Debug)]
struct ClockState {
    /// Emulated time at `anchor`.
    base_ms: i64,
    anchor: Instant,
    running: bool,
    /// The last value handed out, so readings never go backwards.
    last_ms: i64,
}

impl Clock {
    /// A clock reading `start_ms` now; `running` makes it follow real time.
    pub fn new(start_ms: i64, running: bool) -> Self {
        Self {
            state: Mutex::new(ClockState {
                base_ms: start_ms,
                anchor: Instant::now(),
                running,
                last_ms: start_ms,
            }),
        }
    }

    /// The current emulated time in milliseconds.
    pub fn now_ms(&self) -> i64 {
        let mut s = self.state.lock();
        let mut t = s.base_ms;
        if s.running {
            t += i64::try_from(s.anchor.elapsed().as_millis()).unwrap_or(i64::MAX / 4);
        }
        if t < s.last_ms {
            t = s.last_ms;
        }
        s.last_ms = t;
        t
    }

    /// The current time truncated to whole seconds: Salesforce stores system timestamps
    /// (CreatedDate, SystemModstamp, …) at second precision.
    pub fn now_secs_ms(&self) -> i64 {
        let t = self.now_ms();
        t - t.rem_euclid(1000)
    }

    /// Moves the clock forward by `ms` (negative values are ignored: time never runs back).
    pub fn advance(&self, ms: i64) -> i64 {
        {
            let mut s = self.state.lock();
            if ms > 0 {
                s.base_ms += ms;
            }
        }
        self.now_ms()
    }

    /// Whether the clock follows real time.
    pub fn is_running(&self) -> bool {
        self.state.lock().running
    }
}

/// Days since the epoch → (year, month 1–12, day 1–31). Howard Hinnant's algorithm.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since the epoch.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days in a month.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Writes `v` zero-padded to `width` digits without allocating (the query hot path
/// formats three date-times per record).
fn push_num(out: &mut Vec<u8>, v: i64, width: usize) {
    if v < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for _ in len..width {
        out.push(b'0');
    }
    out.extend(digits[..len].iter().rev());
}

/// Writes `2026-11-22T10:00:00.000+0000`.
pub fn write_datetime(out: &mut Vec<u8>, ms: i64) {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    write_date(out, days as i32);
    out.push(b'T');
    push_num(out, rem / 3_600_000, 2);
    out.push(b':');
    push_num(out, (rem / 60_000) % 60, 2);
    out.push(b':');
    push_num(out, (rem / 1000) % 60, 2);
    out.push(b'.');
    push_num(out, rem % 1000, 3);
    out.extend_from_slice(b"+0000");
}

/// Writes `2026-11-22`.
pub fn write_date(out: &mut Vec<u8>, days: i32) {
    let (y, m, d) = civil_from_days(i64::from(days));
    push_num(out, y, 4);
    out.push(b'-');
    push_num(out, i64::from(m), 2);
    out.push(b'-');
    push_num(out, i64::from(d), 2);
}

/// `2026-11-22T10:00:00.000+0000` as a `String`.
pub fn format_datetime(ms: i64) -> String {
    let mut v = Vec::with_capacity(28);
    write_datetime(&mut v, ms);
    String::from_utf8(v).unwrap_or_default()
}

/// `2026-11-22T10:00:00.000Z`: the form Bulk API 2.0 writes in CSV results.
pub fn format_datetime_z(ms: i64) -> String {
    let mut s = format_datetime(ms);
    s.truncate(s.len() - 5);
    s.push('Z');
    s
}

/// `2026-11-22` as a `String`.
pub fn format_date(days: i32) -> String {
    let mut v = Vec::with_capacity(10);
    write_date(&mut v, days);
    String::from_utf8(v).unwrap_or_default()
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let s = self.b.get(self.i..self.i + n)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(s.iter().fold(0i64, |a, &c| a * 10 + i64::from(c - b'0')))
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

/// Parses `YYYY-MM-DD` into days since the epoch.
pub fn parse_date(s: &str) -> Option<i32> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let days = parse_date_part(&mut c)?;
    c.done().then_some(days)
}

fn parse_date_part(c: &mut Cursor<'_>) -> Option<i32> {
    let y = c.digits(4)?;
    if !c.eat(b'-') {
        return None;
    }
    let m = c.digits(2)? as u32;
    if !c.eat(b'-') {
        return None;
    }
    let d = c.digits(2)? as u32;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    i32::try_from(days_from_civil(y, m, d)).ok()
}

/// Parses a date-time leniently, as Salesforce accepts it: `2026-11-22T10:00:00Z`,
/// `…00.000Z`, `…00+0000`, `…00.000+01:00`; a bare date means midnight UTC when
/// `allow_date` is set.
pub fn parse_datetime(s: &str, allow_date: bool) -> Option<i64> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let days = i64::from(parse_date_part(&mut c)?);
    if c.done() {
        return allow_date.then_some(days * DAY_MS);
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return None;
    }
    let h = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let mi = c.digits(2)?;
    let sec = if c.eat(b':') { c.digits(2)? } else { 0 };
    let mut ms = 0;
    if c.eat(b'.') {
        let start = c.i;
        while c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
            c.i += 1;
        }
        let frac = &c.b[start..c.i];
        if frac.is_empty() {
            return None;
        }
        for (k, d) in frac.iter().take(3).enumerate() {
            ms += i64::from(d - b'0') * [100, 10, 1][k];
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut offset_min = 0i64;
    if c.eat(b'Z') || c.eat(b'z') {
    } else if c.b.get(c.i) == Some(&b'+') || c.b.get(c.i) == Some(&b'-') {
        let sign = if c.b[c.i] == b'-' { -1 } else { 1 };
        c.i += 1;
        let oh = c.digits(2)?;
        c.eat(b':');
        let om = c.digits(2)?;
        offset_min = sign * (oh * 60 + om);
    } else if !c.done() {
        return None;
    }
    if !c.done() {
        return None;
    }
    Some(days * DAY_MS + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms - offset_min * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_salesforce() {
        let ms = parse_datetime("2026-11-22T10:00:00Z", false).unwrap();
        assert_eq!(format_datetime(ms), "2026-11-22T10:00:00.000+0000");
        assert_eq!(format_datetime_z(ms), "2026-11-22T10:00:00.000Z");
        assert_eq!(format_date((ms / DAY_MS) as i32), "2026-11-22");
    }

    #[test]
    fn parses_offsets_and_fractions_leniently() {
        let base = parse_datetime("2013-05-08T21:20:00.000+0000", false).unwrap();
        assert_eq!(
            parse_datetime("2013-05-08T23:20:00+02:00", false),
            Some(base)
        );
        assert_eq!(parse_datetime("2013-05-08T21:20:00Z", false), Some(base));
        assert_eq!(
            parse_datetime("2013-05-08T21:20:00.5Z", false),
            Some(base + 500)
        );
        assert_eq!(
            parse_datetime("2013-05-08", true),
            Some(base - (21 * 60 + 20) * 60_000)
        );
        assert_eq!(parse_datetime("2013-05-08", false), None);
        assert_eq!(parse_datetime("2013-02-30T00:00:00Z", false), None);
        assert_eq!(parse_datetime("2013-05-08T21:20:00Zjunk", false), None);
        assert_eq!(parse_date("1969-12-31"), Some(-1));
    }

    #[test]
    fn civil_round_trip() {
        for d in [-800_000i64, -1, 0, 1, 20_000, 60_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn clock_only_moves_forward() {
        let c = Clock::new(1_000_000, false);
        assert_eq!(c.now_ms(), 1_000_000);
        c.advance(-5);
        assert_eq!(c.now_ms(), 1_000_000);
        assert_eq!(c.advance(60_000), 1_060_000);
        assert_eq!(c.now_secs_ms(), 1_060_000);
    }
}
