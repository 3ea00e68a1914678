//! [`Batch`]: everything one fetched page produces, as a list of writes that
//! [`super::Store::apply`] runs in ONE transaction together with the cursor the page advances
//! (DESIGN.md "A page is the unit of progress").
//!
//! The writes are generic over the tables of [`super::schema`]: an upsert of rows, the
//! replacement of child sets, the rows of a scope that a complete listing lacks, explicit
//! deletion marks and restores, and custom statements over rows ([`Template`]). Nothing here
//! talks to a database.

use std::fmt;

use chrono::{DateTime, Utc};

use super::schema::{Key, KeyPart, Record, Table, Value};

/// A cursor position to commit together with a batch: `(connector, scope) -> value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorUpdate {
    pub connector: String,
    pub scope: String,
    pub value: String,
}

/// Rows of one table, type-erased so a batch can hold rows of many tables.
pub trait Rows: Send + Sync + fmt::Debug {
    fn table(&self) -> &'static Table;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Pushes the values of row `i` (see [`Record::values`]).
    fn values_of<'a>(&'a self, i: usize, out: &mut Vec<Value<'a>>);
}

impl<R: Record + fmt::Debug> Rows for Vec<R> {
    fn table(&self) -> &'static Table {
        R::TABLE
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn values_of<'a>(&'a self, i: usize, out: &mut Vec<Value<'a>>) {
        self[i].values(out);
    }
}

/// Columns (and their values) that limit a listing to its scope, e.g. the project a team list
/// belongs to. Empty: the whole organization.
pub type Scope = Vec<(&'static str, KeyPart)>;

/// What happens to the rows of a scope that a complete listing lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// `deleted_at` is stamped; the row keeps its data and loses the mark when it reappears.
    MarkDeleted,
    /// The rows are removed, and with them the rows of these child tables (whose key starts
    /// with the table's key).
    Remove { cascade: &'static [&'static Table] },
}

/// An explicit signal about listed keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Stamps `deleted_at` on live rows observed no later than the batch.
    Deleted,
    /// Clears `deleted_at` marks set no later than the batch.
    Restored,
    /// Gone for good (a work item destroyed from the recycle bin): stamps `destroyed_at`,
    /// and `deleted_at` when not set yet. Only for tables with a `destroyed_at` column.
    Destroyed,
}

/// Custom statements over a set of rows, for the few writes no generic shape covers (merging
/// Graph users into identities). Statements are SQL both backends accept, with three
/// placeholders: `{org}`, `{at}` (the observation time) and `{rows}` (the rows as a table
/// aliased `s`, columns named as in `rows`).
#[derive(Debug, PartialEq)]
pub struct Template {
    pub name: &'static str,
    pub rows: &'static Table,
    pub statements: &'static [&'static str],
    /// Whether the rows are rows of their own that the batch carries (Graph users), rather
    /// than a restatement of rows another write of the batch already carries (the merge
    /// after a users upsert), which [`Batch::row_count`] must not count twice.
    pub carries_rows: bool,
}

/// One write of a batch.
#[derive(Debug)]
pub enum Write {
    /// Upserts rows with their table's conflict policy (after de-duplication by key).
    Upsert(Box<dyn Rows>),
    /// Replaces the child sets of `parents` (rows of `parent`) with `rows` — only for the
    /// parents whose upsert in this same batch took effect, so a stale observation changes
    /// neither a parent nor its children. Children are matched to parents by the leading
    /// columns of their key. Unchanged child rows are not rewritten.
    Children {
        parent: &'static Table,
        parents: Vec<Key>,
        rows: Box<dyn Rows>,
    },
    /// `table`'s rows of `scope` whose key is not in `present` (a complete listing), observed
    /// no later than the batch, are marked deleted or removed.
    Missing {
        table: &'static Table,
        scope: Scope,
        present: Vec<Key>,
        action: Missing,
    },
    /// An explicit deletion mark or restore of listed keys.
    Mark {
        table: &'static Table,
        keys: Vec<Key>,
        action: Mark,
    },
    /// Custom statements over rows.
    Template {
        template: &'static Template,
        rows: Box<dyn Rows>,
    },
}

impl Write {
    /// The table this write changes (for a template, the table of its rows).
    pub fn table_name(&self) -> &'static str {
        match self {
            Write::Upsert(rows) | Write::Children { rows, .. } | Write::Template { rows, .. } => {
                rows.table().name
            }
            Write::Missing { table, .. } | Write::Mark { table, .. } => table.name,
        }
    }

    /// Rows (and keys) this write carries, for metrics.
    pub fn row_count(&self) -> usize {
        match self {
            Write::Upsert(rows) | Write::Children { rows, .. } => rows.len(),
            Write::Template { template, rows } if template.carries_rows => rows.len(),
            Write::Template { .. } => 0,
            Write::Mark { keys, .. } => keys.len(),
            Write::Missing { .. } => 0,
        }
    }
}

/// Everything one fetched page produces, written in ONE transaction.
///
/// `observed_at` is when the page's request was sent: an upsert only replaces a row whose
/// stored observation is not newer, so a slow, stale response can never regress a row that a
/// later request already wrote (DESIGN.md "Never regress a row"). Writes run in the order
/// they were added.
#[derive(Debug)]
pub struct Batch {
    pub observed_at: DateTime<Utc>,
    writes: Vec<Write>,
    pub cursor: Option<CursorUpdate>,
    /// Whether a complete listing may mark or remove more than half of its scope's live rows
    /// (see [`MASS_DELETION_MIN`]); off unless `sync.allow_mass_deletion`.
    pub mass_deletion_allowed: bool,
}

/// A complete listing that lacks at least this many live rows of its scope, and more than
/// half of them, is refused (logged as an error, nothing marked): that is what a token that
/// lost its permissions looks like, not what deletions in ADO usually do. Smaller changes are
/// applied, and a mark is lifted when a row reappears, so the harm of a wrong small one is
/// bounded.
pub const MASS_DELETION_MIN: i64 = 3;

impl Batch {
    pub fn new(observed_at: DateTime<Utc>) -> Self {
        Self {
            observed_at,
            writes: Vec::new(),
            cursor: None,
            mass_deletion_allowed: false,
        }
    }

    /// Lets this batch's complete listings mark or remove most of their scope
    /// (`sync.allow_mass_deletion`, for a real mass deletion the guard refused).
    pub fn allow_mass_deletion(&mut self, allowed: bool) -> &mut Self {
        self.mass_deletion_allowed = allowed;
        self
    }

    /// The writes, in order.
    pub fn writes(&self) -> &[Write] {
        &self.writes
    }

    /// Adds a write.
    pub fn push(&mut self, write: Write) -> &mut Self {
        self.writes.push(write);
        self
    }

    /// Upserts `rows` (nothing when empty).
    pub fn upsert<R: Record + fmt::Debug>(&mut self, rows: Vec<R>) -> &mut Self {
        if !rows.is_empty() {
            self.writes.push(Write::Upsert(Box::new(rows)));
        }
        self
    }

    /// Replaces the child sets of `parents` (of table `P`, upserted earlier in this batch)
    /// with `children`; a parent without children gets an empty set.
    pub fn replace_children<P: Record, C: Record + fmt::Debug>(
        &mut self,
        parents: Vec<Key>,
        children: Vec<C>,
    ) -> &mut Self {
        if !parents.is_empty() {
            self.writes.push(Write::Children {
                parent: P::TABLE,
                parents,
                rows: Box::new(children),
            });
        }
        self
    }

    /// Marks the rows of `R`'s table in `scope` that `present` (a complete listing) lacks
    /// deleted.
    pub fn mark_missing<R: Record>(&mut self, scope: Scope, present: Vec<Key>) -> &mut Self {
        self.writes.push(Write::Missing {
            table: R::TABLE,
            scope,
            present,
            action: Missing::MarkDeleted,
        });
        self
    }

    /// Removes the rows of `R`'s table in `scope` that `present` lacks, and their children in
    /// `cascade`.
    pub fn remove_missing<R: Record>(
        &mut self,
        scope: Scope,
        present: Vec<Key>,
        cascade: &'static [&'static Table],
    ) -> &mut Self {
        self.writes.push(Write::Missing {
            table: R::TABLE,
            scope,
            present,
            action: Missing::Remove { cascade },
        });
        self
    }

    /// Marks the rows of `R`'s table with these keys destroyed ([`Mark::Destroyed`]).
    pub fn mark_destroyed<R: Record>(&mut self, keys: Vec<Key>) -> &mut Self {
        if !keys.is_empty() {
            self.writes.push(Write::Mark {
                table: R::TABLE,
                keys,
                action: Mark::Destroyed,
            });
        }
        self
    }

    /// Marks the rows of `R`'s table with these keys deleted (an explicit signal).
    pub fn mark_deleted<R: Record>(&mut self, keys: Vec<Key>) -> &mut Self {
        if !keys.is_empty() {
            self.writes.push(Write::Mark {
                table: R::TABLE,
                keys,
                action: Mark::Deleted,
            });
        }
        self
    }

    /// Clears the deletion marks of the rows of `R`'s table with these keys.
    pub fn restore<R: Record>(&mut self, keys: Vec<Key>) -> &mut Self {
        if !keys.is_empty() {
            self.writes.push(Write::Mark {
                table: R::TABLE,
                keys,
                action: Mark::Restored,
            });
        }
        self
    }

    /// Runs `template` over `rows` (nothing when empty, unless no statement reads `{rows}`).
    pub fn template<R: Record + fmt::Debug>(
        &mut self,
        template: &'static Template,
        rows: Vec<R>,
    ) -> &mut Self {
        debug_assert!(std::ptr::eq(template.rows, R::TABLE));
        let reads_rows = template.statements.iter().any(|s| s.contains("{rows}"));
        if !rows.is_empty() || !reads_rows {
            self.writes.push(Write::Template {
                template,
                rows: Box::new(rows),
            });
        }
        self
    }

    /// Commits `cursor` with the batch.
    pub fn with_cursor(&mut self, cursor: CursorUpdate) -> &mut Self {
        self.cursor = Some(cursor);
        self
    }

    /// Rows this batch carries (children included), for metrics.
    pub fn row_count(&self) -> usize {
        self.writes.iter().map(Write::row_count).sum()
    }

    /// True when the batch writes nothing (it may still commit a cursor).
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}
