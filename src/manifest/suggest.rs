//! "Did you mean …?": the closest of the allowed words to a misspelt one.

/// The candidate closest to `word`, if one is close enough (a few edits,
/// a swap of neighbours counting as one, or
/// one starts with the other) and closer than all others. Case differences
/// alone count as closest.
pub fn closest<'a, I, S>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    let lower = word.to_lowercase();
    let allowed =
        |candidate: &str| (candidate.chars().count().max(word.chars().count()) / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    let mut tied = false;
    for candidate in candidates {
        let candidate = candidate.as_ref();
        let candidate_lower = candidate.to_lowercase();
        let distance = strsim::osa_distance(&lower, &candidate_lower);
        let prefix = lower.chars().count().min(candidate_lower.chars().count()) >= 4
            && (candidate_lower.starts_with(&lower) || lower.starts_with(&candidate_lower));
        if distance > allowed(candidate) && !prefix {
            continue;
        }
        match best {
            Some((best_distance, _)) if distance > best_distance => {}
            Some((best_distance, _)) if distance == best_distance => tied = true,
            _ => {
                best = Some((distance, candidate));
                tied = false;
            }
        }
    }
    match best {
        Some((_, candidate)) if !tied => Some(candidate),
        _ => None,
    }
}

/// `did you mean `x`?`, when there is a close candidate.
pub fn did_you_mean<'a, I, S>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    closest(word, candidates).map(|candidate| format!("did you mean `{candidate}`?"))
}

/// "did you mean `x`? (the kinds are `x`, `y`)", or only the list when no
/// candidate is close. `what` names the list, e.g. "the kinds".
pub fn suggest_from<S: AsRef<str>>(word: &str, candidates: &[S], what: &str) -> String {
    let list = format!("{what} are {}", code_list(candidates));
    match did_you_mean(word, candidates) {
        Some(suggestion) => format!("{suggestion} ({list})"),
        None => list,
    }
}

/// `` `a`, `b`, `c` ``.
pub fn code_list<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items
        .into_iter()
        .map(|item| format!("`{}`", item.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: [&str; 5] = ["tenant", "plan", "standaloneKeys", "version", "keyTypes"];

    #[test]
    fn finds_typos() {
        assert_eq!(closest("standaloneKey", &FIELDS), Some("standaloneKeys"));
        assert_eq!(closest("verison", &FIELDS), Some("version"));
        assert_eq!(closest("KEYTYPES", &FIELDS), Some("keyTypes"));
        assert_eq!(closest("standalone", &FIELDS), Some("standaloneKeys"));
        assert_eq!(closest("ten", &FIELDS), None);
    }

    #[test]
    fn stays_silent_when_nothing_is_close_or_it_is_a_tie() {
        assert_eq!(closest("colour", &FIELDS), None);
        assert_eq!(closest("jp0", &["jp1", "jp2", "jp3"]), None);
        assert_eq!(closest("jp10", &["jp1", "jp2", "jp3"]), Some("jp1"));
    }

    #[test]
    fn lists_in_backticks() {
        assert_eq!(code_list(["a", "b"]), "`a`, `b`");
        assert_eq!(
            suggest_from("plam", &["plan", "tenant"], "the fields"),
            "did you mean `plan`? (the fields are `plan`, `tenant`)"
        );
        assert_eq!(
            suggest_from("x", &["plan"], "the fields"),
            "the fields are `plan`"
        );
        assert_eq!(
            did_you_mean("plam", &FIELDS).as_deref(),
            Some("did you mean `plan`?")
        );
    }
}
