//! Change windows: the days and hours, in a named time zone, when `apply`
//! may change anything.

use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One recurring window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeWindow {
    /// The days it opens on.
    #[schemars(length(min = 1), extend("uniqueItems" = true))]
    pub days: Vec<Day>,
    /// `HH:MM-HH:MM`, local time; an end at or before the start runs past
    /// midnight into the next day (`22:00-06:00`), `00:00-24:00` is the
    /// whole day.
    #[schemars(regex(
        pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
    ))]
    pub hours: String,
    /// An IANA time zone name, such as `Europe/Berlin` or `Asia/Tokyo`.
    #[schemars(length(min = 1))]
    pub time_zone: String,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn of(weekday: Weekday) -> Day {
        match weekday {
            Weekday::Monday => Day::Mon,
            Weekday::Tuesday => Day::Tue,
            Weekday::Wednesday => Day::Wed,
            Weekday::Thursday => Day::Thu,
            Weekday::Friday => Day::Fri,
            Weekday::Saturday => Day::Sat,
            Weekday::Sunday => Day::Sun,
        }
    }
}

/// A window made ready to ask: its zone found and its hours read.
#[derive(Debug, Clone)]
pub struct Window {
    days: Vec<Day>,
    /// Minutes after midnight.
    start: u16,
    end: u16,
    zone: TimeZone,
    zone_name: String,
}

/// What is wrong with a window, and in which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowProblem {
    pub field: &'static str,
    pub message: String,
    pub hint: Option<String>,
}

impl ChangeWindow {
    /// The window ready to ask, or what is wrong with it.
    pub fn prepare(&self) -> Result<Window, WindowProblem> {
        let (start, end) = parse_hours(&self.hours).ok_or_else(|| WindowProblem {
            field: "hours",
            message: format!("`{}` is not a range of hours", self.hours),
            hint: Some("write `HH:MM-HH:MM` in 24-hour time, such as `09:00-17:30`".into()),
        })?;
        let zone = TimeZone::get(&self.time_zone).map_err(|_| WindowProblem {
            field: "timeZone",
            message: format!("`{}` is not a known time zone", self.time_zone),
            hint: Some(
                "use an IANA time zone name, such as `Europe/Berlin`, `Asia/Tokyo` or `UTC`".into(),
            ),
        })?;
        Ok(Window {
            days: self.days.clone(),
            start,
            end,
            zone,
            zone_name: self.time_zone.clone(),
        })
    }
}

/// `HH:MM-HH:MM` as minutes after midnight; `24:00` only as an end.
fn parse_hours(text: &str) -> Option<(u16, u16)> {
    let (start, end) = text.split_once('-')?;
    let minutes = |t: &str| -> Option<u16> {
        let (h, m) = t.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    let (start, end) = (minutes(start)?, minutes(end)?);
    (start < 24 * 60).then_some((start, end))
}

impl Window {
    /// Whether it is open at `now`.
    pub fn is_open(&self, now: Timestamp) -> bool {
        let local = now.to_zoned_datetime(self.zone.clone());
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute()))
            .unwrap_or_default();
        let today = self.days.contains(&Day::of(local.weekday()));
        if self.start < self.end {
            return today && (self.start..self.end).contains(&minute);
        }
        // Past midnight: opened today, or yesterday and not yet closed.
        let yesterday = self.days.contains(&Day::of(local.weekday().previous()));
        (today && minute >= self.start) || (yesterday && minute < self.end)
    }

    /// When it next opens after `now`: the instant, and as people say
    /// it (`Mon 09:00 Europe/Berlin`).
    pub fn next_opening(&self, now: Timestamp) -> (Timestamp, String) {
        let local = now.to_zoned_datetime(self.zone.clone());
        let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
        let mut date = local.date();
        for ahead in 0..=7 {
            let later = ahead > 0 || i32::from(self.start) > minute;
            if later && self.days.contains(&Day::of(date.weekday())) {
                break;
            }
            date = date.tomorrow().unwrap_or(date);
        }
        let (hour, minute) = (self.start / 60, self.start % 60);
        let opens = date
            .at(
                i8::try_from(hour).unwrap_or_default(),
                i8::try_from(minute).unwrap_or_default(),
                0,
                0,
            )
            .to_zoned_datetime(self.zone.clone())
            .map_or(now, |zoned| zoned.timestamp());
        let said = format!(
            "{:?} {hour:02}:{minute:02} {}",
            Day::of(date.weekday()),
            self.zone_name
        );
        (opens, said)
    }

    /// The window as written: `Mon,Tue 09:00-17:00 Europe/Berlin`.
    pub fn describe(&self) -> String {
        let days: Vec<String> = self.days.iter().map(|d| format!("{d:?}")).collect();
        format!(
            "{} {:02}:{:02}-{:02}:{:02} {}",
            days.join(","),
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60,
            self.zone_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(days: &[Day], hours: &str, zone: &str) -> Window {
        ChangeWindow {
            days: days.to_vec(),
            hours: hours.into(),
            time_zone: zone.into(),
        }
        .prepare()
        .unwrap()
    }

    /// 2026-11-30 is a Monday.
    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_window_is_open_in_its_own_time_zone() {
        let office = window(&[Day::Mon, Day::Tue], "09:00-17:00", "Europe/Berlin");
        // 08:30 UTC is 09:30 in Berlin in winter.
        assert!(office.is_open(at("2026-11-30T08:30:00Z")));
        assert!(!office.is_open(at("2026-11-30T07:59:00Z")));
        assert!(!office.is_open(at("2026-11-30T16:00:00Z")));
        // Wednesday.
        assert!(!office.is_open(at("2026-12-02T10:00:00Z")));
        assert_eq!(
            office.next_opening(at("2026-11-30T16:00:00Z")).1,
            "Tue 09:00 Europe/Berlin"
        );
        assert_eq!(
            office.next_opening(at("2026-11-30T07:00:00Z")).1,
            "Mon 09:00 Europe/Berlin"
        );
        assert_eq!(
            office.next_opening(at("2026-12-01T16:00:00Z")).1,
            "Mon 09:00 Europe/Berlin"
        );
    }

    fn office_opening() -> Timestamp {
        window(&[Day::Mon], "09:00-17:00", "Europe/Berlin")
            .next_opening(at("2026-12-01T10:00:00Z"))
            .0
    }

    #[test]
    fn a_window_past_midnight_belongs_to_the_day_it_opens() {
        let night = window(&[Day::Fri], "22:00-06:00", "UTC");
        // Friday 2026-12-04 23:00 and Saturday 05:59.
        assert!(night.is_open(at("2026-12-04T23:00:00Z")));
        assert!(night.is_open(at("2026-12-05T05:59:00Z")));
        assert!(!night.is_open(at("2026-12-05T06:00:00Z")));
        // Friday 05:00 belongs to Thursday's night, which is closed.
        assert!(!night.is_open(at("2026-12-04T05:00:00Z")));
        let always = window(&[Day::Sat, Day::Sun], "00:00-24:00", "Asia/Tokyo");
        assert!(always.is_open(at("2026-12-05T15:00:00Z")));
        // Monday 09:00 in Berlin is 08:00 UTC.
        assert_eq!(office_opening(), at("2026-12-07T08:00:00Z"),);
        assert_eq!(always.describe(), "Sat,Sun 00:00-24:00 Asia/Tokyo");
    }

    #[test]
    fn bad_hours_and_zones_are_explained() {
        for hours in ["9-17", "09:00", "25:00-26:00", "24:00-01:00", "09:60-10:00"] {
            let problem = ChangeWindow {
                days: vec![Day::Mon],
                hours: hours.into(),
                time_zone: "UTC".into(),
            }
            .prepare()
            .unwrap_err();
            assert_eq!(problem.field, "hours", "{hours}");
        }
        let problem = ChangeWindow {
            days: vec![Day::Mon],
            hours: "09:00-17:00".into(),
            time_zone: "Europe/Berln".into(),
        }
        .prepare()
        .unwrap_err();
        assert_eq!(problem.field, "timeZone");
        assert_eq!(problem.message, "`Europe/Berln` is not a known time zone");
    }
}
