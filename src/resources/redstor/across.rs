//! Checks between the declared Redstor resources, offline: what the planner
//! or RedAPI would refuse only once it sees them together. A `Customer` as
//! a parent, two companies that RedAPI would take for one (the same name
//! under the same parent, compared without case as RedAPI does), and two
//! subscriptions of one company to the same product.

use std::collections::BTreeMap;

use super::{CatalogRef, CompanyTypeSpec, ROOT, RedstorCompanySpec, RedstorSubscriptionSpec};
use crate::resources::{AcrossProblem, DeclaredSpec, Kind};

/// The checks between companies.
pub fn companies(declared: &[DeclaredSpec<'_>]) -> Vec<AcrossProblem> {
    let mut found = customer_parents(declared);
    found.extend(same_names(declared));
    found
}

/// A company whose parent is a declared `Customer`: only partners have
/// companies below them.
fn customer_parents(declared: &[DeclaredSpec<'_>]) -> Vec<AcrossProblem> {
    let customers: BTreeMap<&str, usize> = DeclaredSpec::of::<RedstorCompanySpec>(declared)
        .filter(|(_, _, spec)| spec.company_type == CompanyTypeSpec::Customer)
        .map(|(at, name, _)| (name, at))
        .collect();
    DeclaredSpec::of::<RedstorCompanySpec>(declared)
        .filter_map(|(at, _, spec)| {
            let parent = spec.parent.as_deref()?;
            let &customer = customers.get(parent)?;
            let address = format!("{}/{parent}", Kind::RedstorCompany);
            Some(
                AcrossProblem::new(
                    at,
                    "spec.parent",
                    format!(
                        "`parent` names `{address}`, a Customer; only a Partner can have companies below it"
                    ),
                )
                .hint(format!(
                    "make `{address}` `type: Partner`, or choose a Partner as `parent`"
                ))
                .related(customer, "spec.type", format!("`{address}` is a Customer here")),
            )
        })
        .collect()
}

/// Two companies of the same name under the same parent: RedAPI takes
/// them for one (it compares names without case), so the second would be
/// refused, or bound to the first.
fn same_names(declared: &[DeclaredSpec<'_>]) -> Vec<AcrossProblem> {
    type First<'a> = (usize, &'a str, &'a RedstorCompanySpec);
    let mut first: BTreeMap<(Option<&str>, String), First<'_>> = BTreeMap::new();
    let mut found = Vec::new();
    for (at, name, spec) in DeclaredSpec::of::<RedstorCompanySpec>(declared) {
        let company_name = spec.name_at_redstor(name);
        let key = (spec.parent.as_deref(), company_name.to_lowercase());
        let Some(&(before, other, other_spec)) = first.get(&key) else {
            first.insert(key, (at, name, spec));
            continue;
        };
        let other_name = other_spec.name_at_redstor(other);
        let parent = match &spec.parent {
            Some(parent) => format!("`{}/{parent}`", Kind::RedstorCompany),
            None => "the account's root company".to_owned(),
        };
        let case = if other_name == company_name {
            String::new()
        } else {
            format!(" (`{other_name}`; RedAPI compares company names without case)")
        };
        found.push(
            AcrossProblem::new(
                at,
                name_field(spec),
                format!(
                    "the company name `{company_name}` is taken under {parent} by `{}/{other}`{case}",
                    Kind::RedstorCompany
                ),
            )
            .hint("give one of them another `companyName` (names are unique under a parent), or remove the copy")
            .related(before, name_field(other_spec), "first named here"),
        );
    }
    found
}

/// Where a company's name at Redstor is written.
fn name_field(spec: &RedstorCompanySpec) -> &'static str {
    match spec.company_name {
        Some(_) => "spec.companyName",
        None => "metadata.name",
    }
}

/// Two subscriptions of one company to the same product (named the same
/// way: by the same id, or by the same name without case): a company holds
/// at most one subscription per product.
pub fn subscriptions(declared: &[DeclaredSpec<'_>]) -> Vec<AcrossProblem> {
    let mut first: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let mut found = Vec::new();
    for (at, _, spec) in DeclaredSpec::of::<RedstorSubscriptionSpec>(declared) {
        let key = (spec.company.as_str(), product_key(&spec.product));
        let Some(&before) = first.get(&key) else {
            first.insert(key, at);
            continue;
        };
        let other = format!("{}/{}", Kind::RedstorSubscription, declared[before].name);
        let company = match spec.company.as_str() {
            ROOT => "the account's root company".to_owned(),
            name => format!("`{}/{name}`", Kind::RedstorCompany),
        };
        found.push(
            AcrossProblem::new(
                at,
                "spec.product",
                format!(
                    "{company} is already subscribed to product `{}` by `{other}`; a company holds at most one subscription per product",
                    spec.product
                ),
            )
            .hint(format!(
                "remove one of them; to change the edition, change `edition` in `{other}`"
            ))
            .related(before, "spec.product", "first subscribed here"),
        );
    }
    found
}

/// A product as written, for comparing: ids as they are, names without
/// case (the planner resolves them so).
fn product_key(product: &CatalogRef) -> String {
    match product {
        CatalogRef::Id(id) => format!("#{id}"),
        CatalogRef::Name(name) => name.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Spec;

    fn company(name: Option<&str>, kind: CompanyTypeSpec, parent: Option<&str>) -> Spec {
        Spec::from(RedstorCompanySpec {
            company_name: name.map(str::to_owned),
            company_type: kind,
            parent: parent.map(str::to_owned),
            enabled: true,
        })
    }

    fn subscription(company: &str, product: CatalogRef) -> Spec {
        Spec::from(RedstorSubscriptionSpec {
            company: company.into(),
            product,
            edition: CatalogRef::Id(1),
            trial: false,
        })
    }

    fn declared<'a>(specs: &'a [(&'a str, Spec)]) -> Vec<DeclaredSpec<'a>> {
        specs
            .iter()
            .map(|(name, spec)| DeclaredSpec { name, spec })
            .collect()
    }

    #[test]
    fn a_customer_cannot_be_a_parent() {
        let specs = [
            ("shop", company(None, CompanyTypeSpec::Customer, None)),
            (
                "branch",
                company(None, CompanyTypeSpec::Customer, Some("shop")),
            ),
            ("partner", company(None, CompanyTypeSpec::Partner, None)),
            (
                "ok",
                company(None, CompanyTypeSpec::Customer, Some("partner")),
            ),
        ];
        let found = companies(&declared(&specs));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].at, found[0].field.as_str()), (1, "spec.parent"));
        assert_eq!(
            found[0].related,
            [(
                0,
                "spec.type".into(),
                "`RedstorCompany/shop` is a Customer here".into()
            )]
        );
    }

    #[test]
    fn names_under_one_parent_are_compared_without_case() {
        let specs = [
            (
                "a",
                company(Some("Contoso"), CompanyTypeSpec::Customer, None),
            ),
            ("contoso", company(None, CompanyTypeSpec::Customer, None)),
            ("p", company(None, CompanyTypeSpec::Partner, None)),
            (
                "elsewhere",
                company(Some("CONTOSO"), CompanyTypeSpec::Customer, Some("p")),
            ),
        ];
        let found = companies(&declared(&specs));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].at, found[0].field.as_str()), (1, "metadata.name"));
        assert_eq!(
            found[0].message,
            "the company name `contoso` is taken under the account's root company by `RedstorCompany/a` (`Contoso`; RedAPI compares company names without case)"
        );
        assert_eq!(found[0].related[0].0, 0);
        assert_eq!(found[0].related[0].1, "spec.companyName");
    }

    #[test]
    fn one_subscription_per_product_and_company() {
        let specs = [
            ("a", subscription("c", CatalogRef::Name("O365".into()))),
            ("b", subscription("c", CatalogRef::Name("o365".into()))),
            ("c", subscription("d", CatalogRef::Name("O365".into()))),
            ("d", subscription("c", CatalogRef::Id(4))),
            ("e", subscription("c", CatalogRef::Id(4))),
        ];
        let found = subscriptions(&declared(&specs));
        let at: Vec<usize> = found.iter().map(|p| p.at).collect();
        assert_eq!(at, [1, 4], "{found:?}");
        assert_eq!(found[1].related[0].0, 3);
    }
}
