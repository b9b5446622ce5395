//! What refresh reads of the Redstor account, and the planner's view of it:
//! the root company, one transitive listing of the tree (paged by 100), the
//! product catalog, and one subscription list per company in play, started
//! as soon as the pages read, the state's records and the manifests settle
//! the company (the records from the first page they meet, before the
//! manifests arrive; pages read before the records wait for them).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::ROOT;
use super::plan::bound_companies;
use super::settle::Settling;
use crate::api::ApiError;
use crate::api::lenient::{Read, Unreadable};
use crate::api::redstor::{Company, Product, RedstorAccess, RedstorClient, Subscription};
use crate::manifest::{Desired, Spec};
use crate::resources::Kind;
use crate::resources::provider::{Manifests, Recorded};
use crate::state::State;

/// The Redstor account as refresh saw it: the root company, every company
/// below it, the product catalog, and the subscriptions of the companies
/// in play (not of every company).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RedstorLive {
    pub root: Option<Company>,
    /// Every company below the root, at any depth.
    pub companies: Vec<Company>,
    pub products: Vec<Product>,
    /// Per company id, for the companies that were read.
    pub subscriptions: BTreeMap<Uuid, Vec<Subscription>>,
    /// Companies and subscriptions listed that could not be read (left
    /// out above).
    #[serde(skip)]
    pub unreadable: Vec<Unreadable>,
    /// Where each company is in `companies`, made on the first lookup (a
    /// plan looks up every company and its parent's children). `companies`
    /// is not changed after the first lookup.
    #[serde(skip)]
    index: OnceLock<CompanyIndex>,
}

/// Positions in `RedstorLive::companies`: by id, by parent and lower-case
/// name (the first of each), and the children of each parent.
#[derive(Clone, Debug, Default)]
struct CompanyIndex {
    by_id: HashMap<Uuid, usize>,
    by_parent_and_name: HashMap<(Uuid, String), usize>,
    children: HashMap<Uuid, Vec<usize>>,
}

impl RedstorLive {
    /// The root company's id (nil when the account has none, which refresh
    /// refuses).
    pub fn root_id(&self) -> Uuid {
        self.root.as_ref().map(|c| c.company_id).unwrap_or_default()
    }

    /// What refresh read: the root, every company below it, the catalog.
    pub fn new(root: Option<Company>, companies: Vec<Company>, products: Vec<Product>) -> Self {
        RedstorLive {
            root,
            companies,
            products,
            ..RedstorLive::default()
        }
    }

    fn index(&self) -> &CompanyIndex {
        self.index.get_or_init(|| {
            let mut index = CompanyIndex::default();
            for (at, company) in self.companies.iter().enumerate() {
                index.by_id.entry(company.company_id).or_insert(at);
                if let Some(parent) = company.parent_company_id {
                    index
                        .by_parent_and_name
                        .entry((parent, company.company_name.to_lowercase()))
                        .or_insert(at);
                    index.children.entry(parent).or_default().push(at);
                }
            }
            index
        })
    }

    /// A company of the tree, the root included.
    pub fn company(&self, id: Uuid) -> Option<&Company> {
        match &self.root {
            Some(root) if root.company_id == id => Some(root),
            _ => self.index().by_id.get(&id).map(|&at| &self.companies[at]),
        }
    }

    /// The company called `name` (case-insensitively, as RedAPI compares)
    /// directly below `parent`.
    pub fn child_named(&self, parent: Uuid, name: &str) -> Option<&Company> {
        self.index()
            .by_parent_and_name
            .get(&(parent, name.to_lowercase()))
            .map(|&at| &self.companies[at])
    }

    /// The companies directly below `parent`.
    pub fn children(&self, parent: Uuid) -> impl Iterator<Item = &Company> {
        self.index()
            .children
            .get(&parent)
            .into_iter()
            .flatten()
            .map(|&at| &self.companies[at])
    }

    /// The subscriptions of a company, when they were read.
    pub fn subscriptions_of(&self, company: Uuid) -> Option<&[Subscription]> {
        self.subscriptions.get(&company).map(Vec::as_slice)
    }
}

/// Whether any Redstor resource is declared or recorded.
pub fn in_play(desired: &Desired, state: &State) -> bool {
    declared(desired) || recorded(state)
}

/// Whether any Redstor resource is recorded.
fn recorded(state: &State) -> bool {
    state.records_any(is_redstor)
}

/// Whether any Redstor resource is declared.
fn declared(desired: &Desired) -> bool {
    desired.resources.iter().any(|r| is_redstor(r.address.kind))
}

/// Whether a declared subscription is on the root company.
pub(super) fn subscribes_root(desired: &Desired) -> bool {
    desired
        .resources
        .iter()
        .any(|r| matches!(&r.spec, Spec::RedstorSubscription(s) if s.company == ROOT))
}

fn is_redstor(kind: Kind) -> bool {
    matches!(kind, Kind::RedstorCompany | Kind::RedstorSubscription)
}

/// The companies whose subscriptions refresh reads: every bound company,
/// and the root when a subscription is on it. (What the pages read so far
/// already settle of them is [`Settling`]'s.)
pub fn subscription_companies(
    desired: &Desired,
    state: &State,
    live: &RedstorLive,
) -> BTreeSet<Uuid> {
    let mut ids: BTreeSet<Uuid> = bound_companies(desired, state, live)
        .into_values()
        .collect();
    if subscribes_root(desired) {
        ids.insert(live.root_id());
    }
    // Companies recorded as holding a subscription, the root included
    // (they may have moved out of the manifests' view).
    for (_, record) in state.of_kind(Kind::RedstorSubscription) {
        if let Some(id) = record.scope.company()
            && live.company(id).is_some()
        {
            ids.insert(id);
        }
    }
    ids
}

/// The Redstor account, when a Redstor resource is declared or recorded.
///
/// When the state records one, reading starts as soon as that is known,
/// while the manifests and the state's records may still be loading. The
/// transitive pages come one after another (each carries the next one's
/// token); the subscription lists of the companies each page (or the
/// arrival of the state or the manifests) settles start then, as many at
/// once as RedAPI takes, and those only the whole tree settles once the
/// last page and the manifests are in. Every list is of a company the
/// whole tree wants: as many calls as reading the tree first.
pub async fn refresh(
    manifests: Manifests<'_>,
    state: Recorded<'_>,
    redstor: &RedstorAccess,
) -> Result<Option<RedstorLive>, ApiError> {
    if !state.records_any(is_redstor).await && !declared(manifests.loaded().await) {
        return Ok(None);
    }
    let client = redstor.client()?;
    let (to_list, listing) = mpsc::unbounded_channel();
    let tree = read_tree(manifests, state, client, to_list);
    // The lists are dispatched from a task of their own, so that what else
    // the refresh's task works on (the ECL listings) never holds them; a
    // set of one, so that dropping the refresh aborts it.
    let mut listing_task = JoinSet::new();
    listing_task.spawn(list_subscriptions(client.clone(), listing));
    let lists = async move {
        let done = listing_task.join_next().await;
        let done = done.expect("the set holds the lists' task until it is joined");
        ApiError::from_task("the subscription lists", done)
    };
    let ((mut live, companies_unreadable, wanted), products, lists) =
        tokio::try_join!(tree, client.products(), lists)?;
    live.products = products;
    let mut unreadable = companies_unreadable;
    for (company, listed) in lists {
        debug_assert!(wanted.contains(&company), "listed an unwanted company");
        if wanted.contains(&company) {
            unreadable.extend(listed.unreadable);
            live.subscriptions.insert(company, listed.items);
        }
    }
    for bad in &unreadable {
        tracing::warn!(
            "a Redstor company or subscription could not be read and is left alone: {}",
            bad.describe()
        );
    }
    live.unreadable = unreadable;
    tracing::info!(
        "refreshed the Redstor account: {} companies, subscriptions of {}",
        live.companies.len(),
        live.subscriptions.len()
    );
    Ok(Some(live))
}

/// Reads the root and the tree below it page by page, sending to `to_list`
/// each company whose subscriptions are wanted as soon as the pages read,
/// the state and the manifests settle it, and the rest once the last page
/// and the manifests are in. The pages go on while the state's records
/// parse; those read before them wait for them. The tree (without the
/// catalog), what of it could not be read, and every company wanted.
async fn read_tree<'a>(
    manifests: Manifests<'a>,
    state: Recorded<'a>,
    client: &RedstorClient,
    to_list: mpsc::UnboundedSender<Uuid>,
) -> Result<(RedstorLive, Vec<Unreadable>, BTreeSet<Uuid>), ApiError> {
    // The receiver is gone only when the lists failed, which ends the
    // refresh anyway.
    let send = |ids: Vec<Uuid>| ids.into_iter().for_each(|id| _ = to_list.send(id));
    let root = client.root_company().await?;
    let settling = Mutex::new(Settle::Waiting(Vec::new()));
    let settle = || settling.lock().unwrap_or_else(PoisonError::into_inner);
    let pages = client.customers_transitive_each(root.company_id, |page| match &mut *settle() {
        Settle::Waiting(pages) => pages.push(page.to_vec()),
        Settle::Ready(settling) => send(settling.page(page)),
    });
    let settled = async {
        let state = state.loaded().await;
        let mut ready = Settling::new(state, &root);
        send(ready.wanted().iter().copied().collect());
        {
            let mut settling = settle();
            if let Settle::Waiting(pages) = &*settling {
                pages.iter().for_each(|page| send(ready.page(page)));
            }
            *settling = Settle::Ready(Box::new(ready));
        }
        let desired = manifests.loaded().await;
        if let Settle::Ready(settling) = &mut *settle() {
            send(settling.declare(desired));
        }
        Ok((state, desired))
    };
    let (companies, (state, desired)) = tokio::try_join!(pages, settled)?;
    let live = RedstorLive::new(Some(root), companies.items, Vec::new());
    let wanted = subscription_companies(desired, state, &live);
    let already = match settling
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        Settle::Ready(settling) => settling.wanted().clone(),
        Settle::Waiting(_) => BTreeSet::new(),
    };
    send(wanted.difference(&already).copied().collect());
    Ok((live, companies.unreadable, wanted))
}

/// The tree's settling: the pages read before the state's records, kept
/// until they are in, then the bindings they settle.
enum Settle<'a> {
    Waiting(Vec<Vec<Company>>),
    Ready(Box<Settling<'a>>),
}

/// Lists the subscriptions of every company that comes through `listing`,
/// as many at once as the client sends to one host, until it closes. Each
/// list is a task of its own, so that the answers that come back together
/// are taken in on every worker, not one after another by the refresh's
/// task; dropping the refresh aborts them.
async fn list_subscriptions(
    client: RedstorClient,
    mut listing: mpsc::UnboundedReceiver<Uuid>,
) -> Result<Vec<(Uuid, Read<Subscription>)>, ApiError> {
    let mut running = JoinSet::new();
    let mut listed = Vec::new();
    let mut open = true;
    loop {
        tokio::select! {
            next = listing.recv(), if open && running.len() < client.max_in_flight() => match next {
                Some(company) => {
                    let client = client.clone();
                    running.spawn(async move {
                        Ok::<_, ApiError>((company, client.subscriptions_read(company).await?))
                    });
                }
                None => open = false,
            },
            Some(done) = running.join_next() => {
                listed.push(ApiError::from_task("a subscription list", done)?);
            }
            else => return Ok(listed),
        }
    }
}
