//! A size budget for Markdown meant for a pull request or an issue
//! (GitHub refuses a comment over 65,536 characters): a document is a head
//! that always shows and sections whose detail can shrink. [`fit`] shows
//! everything when it fits; otherwise it shortens, then cuts, section by
//! section, and ends with a footer that counts what was left out. The
//! result never has more characters than the budget, whatever the input.
//! The plan's and the drift's Markdown both go through here.

use std::fmt;

/// The fewest characters a budget may allow: room for a heading, the
/// summary and the count of what was left out.
pub const MIN_CHARS: usize = 1_000;

/// The default budget: comfortably under GitHub's 65,536 characters.
pub const DEFAULT_CHARS: usize = 60_000;

/// The most characters a document may have (Unicode scalar values, as
/// GitHub counts a comment's length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget(usize);

impl Budget {
    /// A budget of `chars`, refused below [`MIN_CHARS`].
    pub fn new(chars: usize) -> Result<Self, String> {
        if chars < MIN_CHARS {
            return Err(format!(
                "{chars} is below the smallest budget, {MIN_CHARS} characters: a Markdown comment needs room for its heading, its summary and the count of what it leaves out"
            ));
        }
        Ok(Budget(chars))
    }

    pub fn chars(self) -> usize {
        self.0
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget(DEFAULT_CHARS)
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", thousands(self.0))
    }
}

/// `60000` as `60,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One way of showing a section: what opens it, one text per item, and
/// what closes it. Any prefix of the items, between the same opening and
/// closing, must be valid Markdown (a fence, for one, is long enough for
/// every item).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pub open: String,
    pub items: Vec<String>,
    pub close: String,
}

/// A part of the document below the head.
pub struct Section {
    /// Sections of a lower rank are cut first (then, within a rank, the
    /// later ones first).
    pub rank: u8,
    /// Whether its items are what the footer counts (a plan's actions, a
    /// drift's findings); a list that repeats them elsewhere is not.
    pub counted: bool,
    /// Every item in full.
    pub full: Form,
    /// One line per item, for when the full form does not fit; `None` when
    /// the full form is already that.
    pub brief: Option<Form>,
    /// The line that says how many of its items are not shown, written
    /// between the items shown and the closing.
    pub more: fn(usize) -> String,
}

/// What [`fit`] left out, for the footer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Elided {
    /// Counted items not shown.
    pub hidden: usize,
    /// Whether any section is shown one line per item, or cut.
    pub shortened: bool,
}

/// How one section is shown.
#[derive(Clone, Copy, Debug)]
struct Shown {
    brief: bool,
    items: usize,
    omitted: bool,
}

/// A section with the character counts [`fit`] works with.
struct Measured<'a> {
    section: &'a Section,
    full: Lengths,
    brief: Option<Lengths>,
}

/// The characters of a form's parts, the items as running totals.
struct Lengths {
    open: usize,
    close: usize,
    /// `prefix[k]`: the characters of the first `k` items.
    prefix: Vec<usize>,
}

impl Lengths {
    fn of(form: &Form) -> Self {
        let mut prefix = Vec::with_capacity(form.items.len() + 1);
        prefix.push(0);
        for item in &form.items {
            let last = prefix.last().copied().unwrap_or(0);
            prefix.push(last + chars(item));
        }
        Lengths {
            open: chars(&form.open),
            close: chars(&form.close),
            prefix,
        }
    }

    fn count(&self) -> usize {
        self.prefix.len() - 1
    }
}

impl Measured<'_> {
    fn lengths(&self, brief: bool) -> &Lengths {
        match (brief, &self.brief) {
            (true, Some(brief)) => brief,
            _ => &self.full,
        }
    }

    fn count(&self) -> usize {
        self.full.count()
    }

    /// The characters of the section shown as `shown`, with the blank line
    /// before it.
    fn size(&self, shown: Shown) -> usize {
        if shown.omitted {
            return 0;
        }
        let lengths = self.lengths(shown.brief);
        let hidden = self.count() - shown.items;
        let more = match hidden {
            0 => 0,
            n => chars(&(self.section.more)(n)),
        };
        1 + lengths.open + lengths.prefix[shown.items] + more + lengths.close
    }

    fn hidden(&self, shown: Shown) -> usize {
        match (self.section.counted, shown.omitted) {
            (false, _) => 0,
            (true, true) => self.count(),
            (true, false) => self.count() - shown.items,
        }
    }
}

/// The characters of `text`.
pub fn chars(text: &str) -> usize {
    text.chars().count()
}

/// `head`, then each section after a blank line, then (when anything was
/// shortened or left out) a blank line and `footer`'s text, in at most
/// `budget` characters. When the whole does not fit: the largest sections
/// with a brief form are shown in it first; then items are cut, lowest rank
/// first, later sections first within a rank, a section going whole when
/// none of its items fit. A
/// head and footer that alone exceed the budget (which [`MIN_CHARS`] is
/// meant to rule out) are cut to it.
pub fn fit(
    head: &str,
    sections: &[Section],
    budget: Budget,
    footer: impl Fn(Elided) -> String,
) -> String {
    let measured: Vec<Measured<'_>> = sections
        .iter()
        .map(|section| Measured {
            section,
            full: Lengths::of(&section.full),
            brief: section.brief.as_ref().map(Lengths::of),
        })
        .collect();
    let mut shown: Vec<Shown> = measured
        .iter()
        .map(|m| Shown {
            brief: false,
            items: m.count(),
            omitted: false,
        })
        .collect();
    let head_size = chars(head);
    let total = |shown: &[Shown]| {
        let body: usize = measured.iter().zip(shown).map(|(m, s)| m.size(*s)).sum();
        head_size + body + footer_size(&measured, shown, &footer)
    };
    let limit = budget.chars();
    shorten_largest(&measured, &mut shown, &total, limit);
    cut_items(&measured, &mut shown, &total, limit);
    let elided = elided(&measured, &shown);
    let mut out = String::with_capacity(limit.min(total(&shown)) + 4);
    out.push_str(head);
    for (m, s) in measured.iter().zip(&shown) {
        write_section(&mut out, m, *s);
    }
    let footer = footer_text(elided, &footer);
    if chars(&out) + chars(&footer) > limit {
        let room = limit.saturating_sub(chars(&footer));
        out = out.chars().take(room).collect();
    }
    out.push_str(&footer);
    out
}

/// Shows the sections with a brief form in it, the largest first, until the
/// whole fits.
fn shorten_largest(
    measured: &[Measured<'_>],
    shown: &mut [Shown],
    total: &impl Fn(&[Shown]) -> usize,
    limit: usize,
) {
    let mut order: Vec<usize> = (0..measured.len())
        .filter(|i| measured[*i].brief.is_some())
        .collect();
    order.sort_by_key(|i| std::cmp::Reverse(measured[*i].size(shown[*i])));
    for i in order {
        if total(shown) <= limit {
            return;
        }
        shown[i].brief = true;
    }
}

/// The order sections are cut in: lowest rank first, later first.
fn cut_order(measured: &[Measured<'_>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..measured.len()).collect();
    order.sort_by_key(|i| (measured[*i].section.rank, std::cmp::Reverse(*i)));
    order
}

/// Cuts items off the ends of sections, in [`cut_order`], until the whole
/// fits: each section keeps as many as fit, or, when none fit, goes whole
/// before the next section loses any.
fn cut_items(
    measured: &[Measured<'_>],
    shown: &mut [Shown],
    total: &impl Fn(&[Shown]) -> usize,
    limit: usize,
) {
    for i in cut_order(measured) {
        if total(shown) <= limit {
            return;
        }
        loop {
            let over = total(shown).saturating_sub(limit);
            let items = shown[i].items;
            if over == 0 || items == 0 {
                break;
            }
            // Cutting one at a time would be quadratic for a big section:
            // jump to the most items whose lengths alone leave room (the
            // line counting the rest only adds), then go on one by one.
            let prefix = &measured[i].lengths(shown[i].brief).prefix;
            let goal = prefix[items].saturating_sub(over);
            let fits = prefix.partition_point(|p| *p <= goal).saturating_sub(1);
            shown[i].items = fits.min(items - 1);
        }
        if total(shown) > limit {
            shown[i].omitted = true;
        }
    }
}

fn elided(measured: &[Measured<'_>], shown: &[Shown]) -> Elided {
    Elided {
        hidden: measured.iter().zip(shown).map(|(m, s)| m.hidden(*s)).sum(),
        shortened: measured
            .iter()
            .zip(shown)
            .any(|(m, s)| s.omitted || s.items < m.count() || (s.brief && m.brief.is_some())),
    }
}

fn footer_text(elided: Elided, footer: &impl Fn(Elided) -> String) -> String {
    if elided.hidden == 0 && !elided.shortened {
        return String::new();
    }
    format!("\n{}", footer(elided))
}

fn footer_size(
    measured: &[Measured<'_>],
    shown: &[Shown],
    footer: &impl Fn(Elided) -> String,
) -> usize {
    chars(&footer_text(elided(measured, shown), footer))
}

fn write_section(out: &mut String, measured: &Measured<'_>, shown: Shown) {
    if shown.omitted {
        return;
    }
    let section = measured.section;
    let form = match (shown.brief, &section.brief) {
        (true, Some(brief)) => brief,
        _ => &section.full,
    };
    out.push('\n');
    out.push_str(&form.open);
    for item in &form.items[..shown.items] {
        out.push_str(item);
    }
    let hidden = form.items.len() - shown.items;
    if hidden > 0 {
        out.push_str(&(section.more)(hidden));
    }
    out.push_str(&form.close);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn more(n: usize) -> String {
        format!("… {n} more\n")
    }

    fn section(rank: u8, counted: bool, items: &[String], brief: bool) -> Section {
        let form = |items: Vec<String>| Form {
            open: "```\n".into(),
            items,
            close: "```\n".into(),
        };
        Section {
            rank,
            counted,
            full: form(items.to_vec()),
            brief: brief.then(|| {
                let first = |i: &String| format!("{}\n", i.split(' ').next().unwrap_or_default());
                form(items.iter().map(first).collect())
            }),
            more,
        }
    }

    fn footer(elided: Elided) -> String {
        format!("{} more not shown\n", elided.hidden)
    }

    #[test]
    fn a_document_that_fits_is_shown_whole_without_a_footer() {
        let items = vec!["a\n".to_string(), "b\n".to_string()];
        let out = fit(
            "# head\n",
            &[section(0, true, &items, true)],
            Budget::default(),
            footer,
        );
        assert_eq!(out, "# head\n\n```\na\nb\n```\n");
    }

    #[test]
    fn the_largest_section_is_shortened_first_then_items_are_cut_from_the_lowest_rank() {
        let long: Vec<String> = (0..400)
            .map(|i| format!("{i} {}\n", "detail ".repeat(3)))
            .collect();
        let short: Vec<String> = (0..20).map(|i| format!("{i} x\n")).collect();
        let sections = [
            section(1, false, &short, false),
            section(0, true, &long, true),
        ];
        let budget = Budget::new(1_500).unwrap();
        let out = fit("# head\n", &sections, budget, footer);
        assert!(chars(&out) <= 1_500, "{}", chars(&out));
        // The short, higher-ranked section is whole; the long one is cut.
        assert!(out.contains("19 x\n"), "{out}");
        assert!(out.contains("… "), "{out}");
        let hidden: usize = out
            .lines()
            .last()
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let shown = out
            .lines()
            .filter(|l| l.trim().parse::<usize>().is_ok())
            .count();
        assert_eq!(hidden + shown, 400, "{out}");
    }

    #[test]
    fn budgets_below_the_minimum_are_refused() {
        assert!(Budget::new(999).is_err());
        assert_eq!(Budget::new(1_000).unwrap().chars(), 1_000);
        assert_eq!(Budget::default().to_string(), "60,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn a_head_longer_than_the_budget_is_cut_to_it() {
        let head = "é".repeat(5_000);
        let items = vec!["a\n".to_string()];
        let out = fit(
            &head,
            &[section(0, true, &items, false)],
            Budget::new(1_000).unwrap(),
            footer,
        );
        assert_eq!(chars(&out), 1_000);
        assert!(out.ends_with("1 more not shown\n"), "{out}");
    }

    proptest! {
        #[test]
        fn never_over_budget(
            sizes in proptest::collection::vec((0usize..300, 1usize..400, any::<bool>(), 0u8..3), 0..6),
            budget in 1_000usize..20_000,
        ) {
            let sections: Vec<Section> = sizes
                .iter()
                .map(|(count, width, brief, rank)| {
                    let items: Vec<String> =
                        (0..*count).map(|i| format!("ü{i} {}\n", "ü".repeat(width + i % 7))).collect();
                    section(*rank, true, &items, *brief)
                })
                .collect();
            let out = fit("# head\n", &sections, Budget::new(budget).unwrap(), footer);
            prop_assert!(chars(&out) <= budget, "{} > {budget}", chars(&out));
            let total: usize = sizes.iter().map(|s| s.0).sum();
            let hidden: usize = out
                .lines()
                .last()
                .and_then(|l| l.strip_suffix(" more not shown"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let shown = out.lines().filter(|l| l.starts_with('ü')).count();
            prop_assert_eq!(hidden + shown, total);
        }
    }
}
