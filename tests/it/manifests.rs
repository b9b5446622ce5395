//! The manifest loader against a corpus: malformed manifests (each targeting
//! one mistake, its rendered diagnostics snapshot-tested), a good fixture set,
//! the committed JSON Schemas, hostile inputs and random inputs.

use entitle::manifest::{Address, DeletionPolicy, Diagnostics, Kind, Spec, load, schemas};
use std::path::{Path, PathBuf};

/// The rendered diagnostics of loading `paths`, which must fail.
fn problems(paths: &[PathBuf]) -> Diagnostics {
    match load(paths) {
        Ok(desired) => panic!(
            "{paths:?} loaded, with {} resources",
            desired.resources.len()
        ),
        Err(diagnostics) => diagnostics,
    }
}

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the corpus directory is readable")
        .map(|entry| entry.expect("the corpus directory is readable").path())
        .collect();
    files.sort();
    files
}

#[test]
fn each_bad_manifest_is_explained() {
    let cases = files_in("tests/corpus/bad");
    assert!(cases.len() >= 24, "only {} cases", cases.len());
    for case in cases {
        let name = case.file_stem().unwrap().to_str().unwrap().to_owned();
        let rendered = problems(std::slice::from_ref(&case)).to_string();
        insta::assert_snapshot!(name, rendered);
    }
}

#[test]
fn binary_garbage_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8]); 3] = [
        (
            "garbage.yaml",
            b"apiVersion: entitle/v1\nkind: \xff\xfe\x00\x01\x80binary",
        ),
        ("nul.yaml", b"apiVersion: entitle/v1\n\0\0\0\0"),
        ("utf16.yaml", b"\xff\xfea\0p\0i\0"),
    ];
    let mut rendered = String::new();
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        rendered.push_str(&problems(&[path]).to_string());
        rendered.push_str("\n\n");
    }
    let rendered = rendered.replace(&dir.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!("binary-garbage", rendered);
}

#[test]
fn a_missing_path_is_reported() {
    let rendered = problems(&["tests/corpus/no-such-dir".into()]).to_string();
    insta::assert_snapshot!("missing-path", rendered);
}

#[test]
fn several_problems_in_several_files_are_reported_in_one_run() {
    let diagnostics = problems(&["tests/corpus/multi-error".into()]);
    assert_eq!(diagnostics.file_count(), 2);
    assert!(diagnostics.0.len() >= 12, "{diagnostics}");
    insta::assert_snapshot!("multi-error", diagnostics.to_string());
}

#[test]
fn the_good_fixtures_load() {
    let desired =
        load(&["tests/corpus/good".into()]).unwrap_or_else(|problems| panic!("{problems}"));
    let addresses: Vec<String> = desired
        .resources
        .iter()
        .map(|r| r.address.to_string())
        .collect();
    assert_eq!(
        addresses,
        [
            "ArcserveLicense/backup staging (trial)",
            "ArcserveLicense/backup-prod-db",
            "ArcserveLicense/backup-prod-files",
            "ArcserveLicense/backup-prod-web",
            "ArcserveLicense/backup-staging",
            "EclTenant/prod-jp1",
            "EclTenant/staging-jp2",
        ]
    );
    assert_eq!(desired.of_kind(Kind::EclTenant).count(), 2);
    assert_eq!(desired.of_kind(Kind::ArcserveLicense).count(), 5);

    let db = desired
        .get(&"ArcserveLicense/backup-prod-db".parse().unwrap())
        .unwrap();
    assert_eq!(
        db.metadata.lifecycle.deletion_policy,
        DeletionPolicy::Orphan
    );
    assert_eq!(db.metadata.lifecycle.ignore_changes, ["standaloneKeys"]);
    assert_eq!(
        db.source.file,
        Path::new("tests/corpus/good/licenses/production.yaml")
    );
    assert_eq!((db.source.line, db.source.column), (15, 1));
    let Spec::ArcserveLicense(license) = &db.spec else {
        panic!("{:?}", db.spec)
    };
    assert_eq!(license.version, "10.0");
    assert_eq!(license.standalone_keys, 2);

    let files = desired
        .get(&"ArcserveLicense/backup-prod-files".parse().unwrap())
        .unwrap();
    let db_address: Address = "ArcserveLicense/backup-prod-db".parse().unwrap();
    assert_eq!(files.metadata.depends_on, [db_address]);

    let staging = desired
        .get(&"EclTenant/staging-jp2".parse().unwrap())
        .unwrap();
    let Spec::EclTenant(tenant) = &staging.spec else {
        panic!("{:?}", staging.spec)
    };
    assert_eq!(tenant.endpoint.as_deref(), Some("http://127.0.0.1:8080"));
}

#[test]
fn files_named_twice_are_read_once() {
    let paths: Vec<PathBuf> = vec![
        "tests/corpus/good".into(),
        "tests/corpus/good/tenants.yaml".into(),
    ];
    let desired = load(&paths).unwrap_or_else(|problems| panic!("{problems}"));
    assert_eq!(desired.resources.len(), 7);
}

#[test]
fn empty_and_comment_only_files_declare_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.yaml"), "").unwrap();
    std::fs::write(dir.path().join("comments.yml"), "# nothing here yet\n---\n").unwrap();
    std::fs::copy(
        "tests/corpus/good/tenants.yaml",
        dir.path().join("tenants.yaml"),
    )
    .unwrap();
    let desired = load(&[dir.path().to_path_buf()]).unwrap_or_else(|problems| panic!("{problems}"));
    assert_eq!(desired.resources.len(), 2);

    std::fs::remove_file(dir.path().join("tenants.yaml")).unwrap();
    let rendered = problems(&[dir.path().to_path_buf()]).to_string();
    let rendered = rendered.replace(&dir.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!("no-manifests", rendered);
}

#[test]
fn the_committed_schemas_are_up_to_date() {
    for (kind, schema) in schemas() {
        let path = format!("schemas/{kind}.json");
        let mut expected = serde_json::to_string_pretty(&schema).unwrap();
        expected.push('\n');
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == expected,
            "{path} differs from the schema the Rust types generate; run `entitle schema --out schemas/`"
        );
    }
}

#[test]
fn a_50_megabyte_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let line = "- e8f4da1d-3c41-476d-9e66-aea77ab778a0\n";
    std::fs::write(&path, line.repeat(50 * 1024 * 1024 / line.len())).unwrap();
    let rendered = problems(&[path]).to_string();
    assert!(rendered.contains("larger than 4 MiB"), "{rendered}");
}

/// About 4 MB of one valid license with a hundred thousand key types: read
/// (or refused) in reasonable time, with no quadratic step.
#[test]
fn a_file_just_under_the_size_limit_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let mut text = std::fs::read_to_string("tests/corpus/good/tenants.yaml").unwrap();
    text.push_str("---\napiVersion: entitle/v1\nkind: ArcserveLicense\nmetadata:\n  name: big\n");
    text.push_str("spec:\n  tenant: prod-jp1\n  plan: 8f120957-b50d-445e-8dab-00b1eab5407d\n");
    text.push_str("  standaloneKeys: 1\n  version: \"9.0\"\n  keyTypes:\n");
    let limit = usize::try_from(entitle::manifest::MAX_FILE_BYTES).unwrap();
    let mut count = 0;
    while text.len() + 64 < limit {
        text.push_str(&format!("    - {count:08x}-0000-4000-8000-000000000000\n"));
        count += 1;
    }
    std::fs::write(&path, text).unwrap();
    match load(&[path]) {
        Ok(desired) => {
            let big = desired
                .get(&"ArcserveLicense/big".parse().unwrap())
                .unwrap();
            let Spec::ArcserveLicense(license) = &big.spec else {
                panic!("{:?}", big.address)
            };
            assert_eq!(license.key_types.len(), count);
        }
        Err(problems) => {
            let rendered = problems.to_string();
            assert!(rendered.contains("refused to read this YAML"), "{rendered}");
        }
    }
}

/// Random bytes and mutated manifests: the loader answers, it never panics.
#[test]
fn random_inputs_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.yaml");
    let seeds: Vec<Vec<u8>> = [
        "tests/corpus/good/tenants.yaml",
        "tests/corpus/good/licenses/production.yaml",
    ]
    .iter()
    .map(|file| std::fs::read(file).unwrap())
    .chain(
        files_in("tests/corpus/bad")
            .iter()
            .map(|file| std::fs::read(file).unwrap()),
    )
    .collect();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    const YAML_BYTES: &[u8] = b":-[]{},&*!|>'\"#%@`? \t\n0123456789abc.~\\";
    for round in 0..3000 {
        let bytes = if round % 4 == 0 {
            (0..rng.usize(0..400)).map(|_| rng.u8(..)).collect()
        } else {
            let mut bytes = seeds[rng.usize(..seeds.len())].clone();
            for _ in 0..rng.usize(1..8) {
                let at = rng.usize(..=bytes.len());
                match rng.u8(0..5) {
                    0 => bytes.insert(at, YAML_BYTES[rng.usize(..YAML_BYTES.len())]),
                    1 if at < bytes.len() => {
                        let end = (at + rng.usize(1..20)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    2 if at < bytes.len() => bytes[at] = rng.u8(..),
                    3 => {
                        let end = (at + rng.usize(1..80)).min(bytes.len());
                        let copy = bytes[at..end].to_vec();
                        let to = rng.usize(..=bytes.len());
                        bytes.splice(to..to, copy);
                    }
                    _ => bytes.truncate(at),
                }
            }
            bytes
        };
        std::fs::write(&path, &bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| load(std::slice::from_ref(&path)));
        assert!(
            outcome.is_ok(),
            "the loader panicked on {:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}
