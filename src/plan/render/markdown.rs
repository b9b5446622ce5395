//! A plan as Markdown for a pull-request comment, always under a size
//! ([`Budget`]): a heading, the summary line, what the manifests' `Policy`
//! says, what deletes, replaces or
//! destroys customer data under a caution, deferred changes and notes, then
//! one collapsible section per kind with a `diff` block (markers in column
//! 0: `+` create, `-` delete, `!` change or replace). When the whole does
//! not fit, [`crate::report::budget::fit`] shortens the largest sections to
//! one line per action, then cuts actions, and the comment ends with how
//! many are not shown.

use std::fmt::Write;

use super::{
    Action, ActionKind, DEFERRED_HEADING, NOTES_HEADING, Plan, Style, action_text, column0_markers,
    deferred_line, note_line, summary_line,
};
use crate::escape;
use crate::manifest::Kind;
use crate::report::budget::{self, Budget, Elided, Form, Section};

/// How to show a plan as Markdown.
#[derive(Clone, Debug, Default)]
pub struct MarkdownOptions {
    /// The heading's text (escaped when shown, and cut to
    /// [`TITLE_CHARS`]).
    pub title: String,
    pub budget: Budget,
}

/// The most characters of the escaped title the heading shows.
pub const TITLE_CHARS: usize = 200;

/// The default heading: the command, the workspace and the manifest paths,
/// e.g. `entitle plan · default · manifests/`.
pub fn default_title(workspace: &str, paths: &[std::path::PathBuf]) -> String {
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    format!("entitle plan · {workspace} · {}", paths.join(" "))
}

/// The ranks of the sections: the per-kind details go first, the caution
/// last.
const RANK_DETAILS: u8 = 0;
const RANK_NOTES: u8 = 1;
const RANK_CAUTION: u8 = 2;
const RANK_POLICY: u8 = 3;

/// The plan as Markdown in at most `options.budget` characters.
pub fn markdown(plan: &Plan, options: &MarkdownOptions) -> String {
    let budget = options.budget;
    budget::fit(
        &head(plan, &options.title),
        &sections(plan),
        budget,
        |elided| footer(elided, budget),
    )
}

/// The heading and the summary line.
fn head(plan: &Plan, title: &str) -> String {
    let mut out = format!("### {}\n\n", heading_text(title));
    let summary = plan.summary();
    if plan.is_empty() {
        out.push_str("**No changes.** The live state matches the manifests.\n");
        if summary.deferred > 0 {
            let _ = writeln!(out, "\n{}", summary_line(&summary));
        }
    } else {
        let _ = writeln!(out, "**{}**", summary_line(&summary));
    }
    out
}

/// The title escaped for Markdown, cut to [`TITLE_CHARS`] at a character
/// of the title (never inside an escape).
fn heading_text(title: &str) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for c in title.chars() {
        let escaped = escape::md_text(c.encode_utf8(&mut [0; 4]));
        let len = budget::chars(&escaped);
        if shown + len > TITLE_CHARS {
            out.push('…');
            break;
        }
        out.push_str(&escaped);
        shown += len;
    }
    out
}

/// The parts below the head, in the order they are shown, each with the
/// rank that says when it may be cut.
fn sections(plan: &Plan) -> Vec<Section> {
    let mut sections = Vec::new();
    sections.extend(policy(plan));
    sections.extend(caution(plan));
    sections.extend(listing(
        DEFERRED_HEADING,
        plan.deferred.iter().map(deferred_line),
    ));
    sections.extend(listing(
        NOTES_HEADING,
        plan.notes.iter().map(|n| note_line(n)),
    ));
    sections.extend(by_kind(plan).into_iter().map(kind_section));
    sections
}

/// What the manifests' `Policy` says: each broken rule and warning, or
/// that the plan keeps every rule. Cut last.
fn policy(plan: &Plan) -> Option<Section> {
    let report = plan.policy.as_ref()?;
    let name = escape::md_code(&report.policy);
    let standing = report.violations.iter().filter(|v| !v.overridden).count();
    let open = match (standing, report.violations.len() + report.warnings.len()) {
        (0, 0) => format!("Policy {name}: the plan keeps every rule.\n"),
        (0, _) => format!("> [!NOTE]\n> Policy {name}:\n"),
        (n, _) => format!(
            "> [!WARNING]\n> Policy {name}: the plan breaks {n} rule(s); plan and apply refuse it without `--override-policy RULE`.\n"
        ),
    };
    let violations = report.violations.iter().map(|v| {
        let status = if v.overridden {
            "overridden"
        } else {
            "**broken**"
        };
        format!(
            "> - {status} `{}`: {}\n",
            v.rule,
            escape::md_text(&v.message)
        )
    });
    let warnings = report
        .warnings
        .iter()
        .map(|w| format!("> - warning: {}\n", escape::md_text(w)));
    Some(Section {
        rank: RANK_POLICY,
        counted: false,
        full: Form {
            open,
            items: violations.chain(warnings).collect(),
            close: String::new(),
        },
        brief: None,
        more: |n| format!("> - … and {n} more\n"),
    })
}

/// The actions that delete or replace an object or destroy customer data,
/// under a caution, one table row each.
fn caution(plan: &Plan) -> Option<Section> {
    let destructive: Vec<&Action> = plan.actions.iter().filter(|a| a.is_destructive()).collect();
    if destructive.is_empty() {
        return None;
    }
    let data = destructive
        .iter()
        .filter(|a| a.data_lost().is_some())
        .count();
    let mut open = format!(
        "> [!CAUTION]\n> {} action(s) delete or replace what they manage",
        destructive.len()
    );
    match data {
        0 => {}
        1 => open.push_str("; one of them destroys customer data"),
        n => {
            let _ = write!(open, "; {n} of them destroy customer data");
        }
    }
    open.push_str(
        ": review them before applying.\n\n| | resource | action | why |\n|---|---|---|---|\n",
    );
    Some(Section {
        rank: RANK_CAUTION,
        counted: false,
        full: Form {
            open,
            items: destructive.iter().map(|a| caution_row(a)).collect(),
            close: String::new(),
        },
        brief: None,
        more: |n| format!("\n… and {n} more destructive action(s), in the sections below\n"),
    })
}

fn caution_row(action: &Action) -> String {
    let mut why = escape::md_text(&action.reason);
    if let Some(lost) = action.data_lost() {
        let _ = write!(why, " — **destroys data: {lost}**");
    }
    format!(
        "| `{}` | {} | {} | {why} |\n",
        action.kind.symbol(),
        resources(action),
        action.kind.word()
    )
}

/// The addresses of an action as code spans, the first and a count when
/// there are many (a bulk upgrade).
fn resources(action: &Action) -> String {
    let addresses = &action.addresses;
    if addresses.len() > 3 {
        return format!(
            "{} and {} more",
            escape::md_code(&addresses[0].to_string()),
            addresses.len() - 1
        );
    }
    addresses
        .iter()
        .map(|a| escape::md_code(&a.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lines of text under a heading in a `text` block (deferred changes,
/// notes); `None` without lines.
fn listing(heading: &str, lines: impl Iterator<Item = String>) -> Option<Section> {
    let items: Vec<String> = lines.map(|l| escape::lines(&l).into_owned()).collect();
    if items.is_empty() {
        return None;
    }
    let fence = escape::md_fence_delimiter(&items.concat());
    Some(Section {
        rank: RANK_NOTES,
        counted: false,
        full: Form {
            open: format!("{fence}text\n{heading}"),
            items,
            close: format!("{fence}\n"),
        },
        brief: None,
        more: |n| format!("  … {n} more not shown\n"),
    })
}

/// The kind an action is shown under: its first address's.
fn kind_of(action: &Action) -> Option<Kind> {
    action.addresses.first().map(|a| a.kind)
}

/// The actions grouped by kind, kinds in the order they first act.
fn by_kind(plan: &Plan) -> Vec<(Option<Kind>, Vec<&Action>)> {
    let mut groups: Vec<(Option<Kind>, Vec<&Action>)> = Vec::new();
    for action in &plan.actions {
        let kind = kind_of(action);
        match groups.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, actions)) => actions.push(action),
            None => groups.push((kind, vec![action])),
        }
    }
    groups
}

/// One kind's actions in a collapsible `diff` block: in full (as the text
/// plan shows them with `-v`), or one line each.
fn kind_section((kind, actions): (Option<Kind>, Vec<&Action>)) -> Section {
    let full: Vec<String> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let gap = if i == 0 { "" } else { "\n" };
            format!("{gap}{}", action_diff(a))
        })
        .collect();
    let brief: Vec<String> = actions.iter().map(|a| action_line(a)).collect();
    let fence = escape::md_fence_delimiter(&full.concat());
    let name = kind.map_or_else(|| "Other".to_string(), |k| k.to_string());
    let open = format!(
        "<details><summary>{} ({})</summary>\n\n{fence}diff\n",
        escape::md_text(&name),
        actions.len()
    );
    let close = format!("{fence}\n\n</details>\n");
    Section {
        rank: RANK_DETAILS,
        counted: true,
        full: Form {
            open: open.clone(),
            items: full,
            close: close.clone(),
        },
        brief: Some(Form {
            open,
            items: brief,
            close,
        }),
        more: |n| format!("\n… {n} more not shown\n"),
    }
}

/// An action as the verbose text plan shows it, markers in column 0.
fn action_diff(action: &Action) -> String {
    let mut text = String::new();
    action_text(
        &mut text,
        action,
        Style {
            color: false,
            verbose: true,
        },
    );
    escape::lines(&column0_markers(&text)).into_owned()
}

/// An action in one line: its marker, what it touches, what and why.
fn action_line(action: &Action) -> String {
    let title = match action.kind {
        ActionKind::BulkUpgrade => escape::text(&action.id).into_owned(),
        ActionKind::Create
        | ActionKind::Update
        | ActionKind::Replace
        | ActionKind::Delete
        | ActionKind::Forget
        | ActionKind::IssueKey
        | ActionKind::Adopt
        | ActionKind::Record => action
            .addresses
            .iter()
            .map(|a| escape::text(&a.to_string()).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let line = format!(
        "{:>3} {title}  # {}: {}\n",
        action.kind.symbol(),
        action.kind.word(),
        escape::text(&action.reason)
    );
    escape::lines(&column0_markers(&line)).into_owned()
}

/// What ends a comment that could not show everything.
fn footer(elided: Elided, budget: Budget) -> String {
    let rest = "`entitle show PLANFILE` prints the whole plan, and its JSON (`--format json`, or the file `plan --out` saves) holds every action";
    match elided.hidden {
        0 => format!(
            "_Some actions are shown in one line to keep this comment under {budget} characters: {rest}._\n"
        ),
        n => format!(
            "**{n} more actions not shown** to keep this comment under {budget} characters: {rest}.\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::is_hazard;
    use crate::plan::render::tests::hostile_plan;

    fn options(chars: usize) -> MarkdownOptions {
        MarkdownOptions {
            title: "entitle plan · default · manifests/".into(),
            budget: Budget::new(chars).unwrap(),
        }
    }

    #[test]
    fn server_text_keeps_the_markdown_table_and_fences_whole() {
        let out = markdown(&hostile_plan(), &options(60_000));
        assert!(!out.chars().any(|c| is_hazard(c) && c != '\n'), "{out:?}");
        // Each fence is closed by its own closing line, and by nothing before.
        let lines: Vec<&str> = out.lines().collect();
        let mut opened = 0;
        let mut fenced = vec![false; lines.len()];
        for (i, line) in lines.iter().enumerate() {
            let Some(info) = ["text", "diff"]
                .iter()
                .find(|info| line.starts_with("```") && line.trim_start_matches('`') == **info)
            else {
                continue;
            };
            let fence = line.trim_end_matches(info);
            let close = lines[i + 1..]
                .iter()
                .position(|l| l.trim_start().starts_with(fence))
                .map(|at| i + 1 + at)
                .expect("a closing fence");
            assert_eq!(lines[close], fence, "{out}");
            fenced[i..=close].iter_mut().for_each(|f| *f = true);
            opened += 1;
        }
        // Deferred, notes, and the one kind's diff.
        assert_eq!(opened, 3, "{out}");
        // Outside the fences, HTML is escaped.
        for (line, _) in lines.iter().zip(&fenced).filter(|(_, f)| !**f) {
            assert!(!line.replace("\\<", "").contains("<img"), "{line}");
        }
    }

    #[test]
    fn server_text_keeps_the_caution_table_whole() {
        let mut plan = hostile_plan();
        plan.actions[0].kind = ActionKind::Delete;
        let out = markdown(&plan, &options(60_000));
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 3, "{out}");
        for row in rows {
            assert_eq!(crate::escape::table_pipes(row), 5, "{row}");
            assert!(!row.replace("\\<", "").contains("<img"), "{row}");
        }
    }

    /// A plan of `count` actions on licenses with hostile names of about
    /// `width` characters, every `every`th a delete.
    fn many(count: usize, width: usize, every: usize) -> Plan {
        let template = hostile_plan();
        let mut plan = hostile_plan();
        plan.actions = (0..count)
            .map(|i| {
                let mut action = template.actions[0].clone();
                let name = format!("n{i}-{}", "|`<\u{202e}é".repeat(width / 5 + 1));
                action.addresses = vec![format!("ArcserveLicense/{name}").parse().unwrap()];
                action.kind = match i % every.max(1) {
                    0 => ActionKind::Delete,
                    _ => ActionKind::Create,
                };
                action
            })
            .collect();
        plan
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        #[test]
        fn plan_markdown_never_exceeds_its_budget(
            count in 0usize..400,
            width in 1usize..600,
            every in 1usize..50,
            chars in 1_000usize..40_000,
        ) {
            let out = markdown(&many(count, width, every), &options(chars));
            proptest::prop_assert!(budget::chars(&out) <= chars, "{} > {chars}", budget::chars(&out));
            proptest::prop_assert!(!out.chars().any(|c| is_hazard(c) && c != '\n'));
        }
    }

    #[test]
    fn a_hostile_title_is_escaped_and_cut() {
        let title = format!("{}|`<b>\u{1b}[2J", "x".repeat(500));
        let out = markdown(
            &hostile_plan(),
            &MarkdownOptions {
                title,
                budget: Budget::default(),
            },
        );
        let heading = out.lines().next().unwrap();
        assert!(heading.starts_with("### xxx"), "{heading}");
        assert!(heading.ends_with('…'), "{heading}");
        assert!(budget::chars(heading) <= TITLE_CHARS + 5, "{heading}");
        let short = markdown(
            &hostile_plan(),
            &MarkdownOptions {
                title: "a|`<b>\u{1b}[2J".into(),
                budget: Budget::default(),
            },
        );
        assert!(
            short.starts_with("### a\\|\\`\\<b\\>\\\\u{1b}\\[2J\n"),
            "{short}"
        );
    }
}
