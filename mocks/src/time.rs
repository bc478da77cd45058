//! UTC timestamps without a date library: the report's ISO 8601 instants
//! and SAML's `xs:dateTime` values (SAML core 1.3.3: UTC, no offset).

/// `2026-11-22T01:33:49.976Z` for milliseconds since the UNIX epoch.
#[must_use]
pub fn iso8601(ms: u128) -> String {
    let secs = (ms / 1000) as i64;
    let millis = (ms % 1000) as u32;
    let (date, h, m, s) = split(secs);
    format!("{date}T{h:02}:{m:02}:{s:02}.{millis:03}Z")
}

/// `2026-11-22T01:33:49Z` for seconds since the UNIX epoch.
#[must_use]
pub fn xs_datetime(secs: i64) -> String {
    let (date, h, m, s) = split(secs);
    format!("{date}T{h:02}:{m:02}:{s:02}Z")
}

fn split(secs: i64) -> (String, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    (format!("{y:04}-{mo:02}-{d:02}"), rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses a UTC `xs:dateTime` (`2026-11-22T01:33:49Z`, fractional seconds
/// allowed and dropped) into seconds since the UNIX epoch.
///
/// # Errors
/// When the value is not of that form, or carries an offset other than `Z`.
pub fn parse_xs_datetime(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a UTC xs:dateTime such as 2026-11-22T01:33:49Z");
    let body = s.strip_suffix('Z').ok_or_else(bad)?;
    let (date, time) = body.split_once('T').ok_or_else(bad)?;
    let time = time.split('.').next().unwrap_or(time);
    let num = |t: &str, len: usize| -> Result<i64, String> {
        if t.len() == len && t.bytes().all(|b| b.is_ascii_digit()) { t.parse().map_err(|_| bad()) } else { Err(bad()) }
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    let ([y, mo, da], [h, mi, se]) = (d.as_slice(), t.as_slice()) else { return Err(bad()) };
    let (y, mo, da, h, mi, se) = (num(y, 4)?, num(mo, 2)?, num(da, 2)?, num(h, 2)?, num(mi, 2)?, num(se, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || se > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(y, mo as u32, da as u32) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Milliseconds since the UNIX epoch, now.
#[must_use]
pub fn now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

/// Seconds since the UNIX epoch, now.
#[must_use]
pub fn now_secs() -> i64 {
    (now_ms() / 1000) as i64
}

/// A clock that a run can move forward: the real time plus an offset.
///
/// The embedded reference IdP, the resource API gateway, the STS and
/// storage doubles and kensa's own verifier read one shared clock, so that
/// a step can make a token expire by moving the clock past its lifetime
/// instead of waiting it out. A [`Clock::child`] follows its parent and can
/// be moved on its own (a scenario's STS double moves its clock without
/// moving the IdP's). Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock(std::sync::Arc<ClockInner>);

#[derive(Debug, Default)]
struct ClockInner {
    offset: std::sync::atomic::AtomicI64,
    parent: Option<Clock>,
}

impl Clock {
    /// A clock at the real time.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock that follows this one, plus moves of its own.
    #[must_use]
    pub fn child(&self) -> Self {
        Self(std::sync::Arc::new(ClockInner { offset: Default::default(), parent: Some(self.clone()) }))
    }

    /// Seconds this clock is ahead of the real time.
    #[must_use]
    pub fn offset(&self) -> i64 {
        let own = self.0.offset.load(std::sync::atomic::Ordering::SeqCst);
        own + self.0.parent.as_ref().map_or(0, Clock::offset)
    }

    /// Moves this clock (and every child) forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.offset.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }

    /// Seconds since the UNIX epoch, by this clock.
    #[must_use]
    pub fn now_secs(&self) -> i64 {
        now_secs() + self.offset()
    }

    /// Milliseconds since the UNIX epoch, by this clock.
    #[must_use]
    pub fn now_ms(&self) -> u128 {
        (now_ms() as i128 + i128::from(self.offset()) * 1000).max(0) as u128
    }
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic
/// Gregorian calendar; the era arithmetic of the civil calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date (the inverse of civil_from_days).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(1_795_224_829_976), "2026-11-21T01:33:49.976Z");
        assert_eq!(iso8601(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn a_moved_clock_runs_ahead_and_children_follow() {
        let clock = Clock::new();
        let child = clock.child();
        assert_eq!(clock.offset(), 0);
        clock.advance(30);
        child.advance(5);
        assert_eq!((clock.offset(), child.offset()), (30, 35));
        let (wall, moved) = (now_secs(), clock.now_secs());
        assert!((moved - wall - 30).abs() <= 1, "{moved} vs {wall}");
        // A clone shares the offset; a child's move stays its own.
        clock.clone().advance(10);
        assert_eq!((clock.offset(), child.offset()), (40, 45));
    }

    #[test]
    fn xs_datetime_round_trips() {
        for secs in [0, 951_782_400, 1_795_224_829, 4_107_542_400] {
            assert_eq!(parse_xs_datetime(&xs_datetime(secs)), Ok(secs));
        }
        assert_eq!(parse_xs_datetime("2026-11-21T01:33:49.976Z"), Ok(1_795_224_829));
        assert!(parse_xs_datetime("2026-11-21T01:33:49+09:00").is_err());
        assert!(parse_xs_datetime("2026-13-21T01:33:49Z").is_err());
        assert!(parse_xs_datetime("yesterday").is_err());
    }
}
