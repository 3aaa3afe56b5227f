//! EXPLAIN: a plan printed as indented lines, one per plan node (the access path of each
//! scan, the join method, grouping, sorting, limits).

use crate::sql::planner::plan::Plan;
use alloc::string::String;
use alloc::vec::Vec;

/// Lines describing a plan (EXPLAIN).
pub fn explain(plan: &Plan, depth: usize, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    let line = match plan {
        Plan::One => "ONE ROW".into(),
        Plan::Values(v) => alloc::format!("VALUES ({} rows)", v.len()),
        Plan::Rows(v) => alloc::format!("ROWS ({} rows)", v.len()),
        Plan::Scan(sp) => {
            let what = match (&sp.index, sp.keys.is_full()) {
                (None, true) => alloc::format!("SCAN {}", sp.table.name),
                (None, false) => alloc::format!("SEARCH {} USING PRIMARY KEY", sp.table.name),
                (Some(ix), full) => alloc::format!(
                    "{} {} USING {}INDEX {}",
                    if full { "SCAN" } else { "SEARCH" },
                    sp.table.name,
                    if sp.covering { "COVERING " } else { "" },
                    ix.name
                ),
            };
            let k = &sp.keys;
            let mut cons = Vec::new();
            if !k.eq.is_empty() {
                cons.push(alloc::format!("{} equality", k.eq.len()));
            }
            if let Some(l) = &k.in_list {
                cons.push(alloc::format!("IN list of {}", l.len()));
            }
            if k.lo.is_some() || k.hi.is_some() {
                cons.push("range".into());
            }
            if cons.is_empty() {
                what
            } else {
                alloc::format!("{what} ({})", cons.join(", "))
            }
        }
        Plan::Filter { .. } => "FILTER".into(),
        Plan::Project { .. } => "PROJECT".into(),
        Plan::NestedLoop { correlated, left_join, .. } => {
            alloc::format!(
                "{}NESTED LOOP{}",
                if *left_join { "LEFT " } else { "" },
                if *correlated { " (index lookup per row)" } else { "" }
            )
        }
        Plan::HashJoin { left_join, .. } => alloc::format!("{}HASH JOIN", if *left_join { "LEFT " } else { "" }),
        Plan::Aggregate { group, sorted, .. } => {
            alloc::format!("AGGREGATE ({} group keys{})", group.len(), if *sorted { ", in key order" } else { "" })
        }
        Plan::OrScan { branches, .. } => alloc::format!("MULTI-INDEX OR ({} scans)", branches.len()),
        Plan::Count { table, .. } => alloc::format!("COUNT {} (entry count)", table.name),
        Plan::Sort { .. } => "SORT".into(),
        Plan::Distinct { .. } => "DISTINCT".into(),
        Plan::Limit { .. } => "LIMIT".into(),
        Plan::Compound { op, .. } => alloc::format!("COMPOUND {op:?}"),
    };
    out.push(alloc::format!("{pad}{line}"));
    match plan {
        Plan::Filter { input, .. }
        | Plan::Project { input, .. }
        | Plan::Aggregate { input, .. }
        | Plan::Sort { input, .. }
        | Plan::Distinct { input, .. }
        | Plan::Limit { input, .. } => explain(input, depth + 1, out),
        Plan::OrScan { branches, .. } => {
            for b in branches {
                explain(b, depth + 1, out);
            }
        }
        Plan::NestedLoop { left, right, .. }
        | Plan::HashJoin { left, right, .. }
        | Plan::Compound { left, right, .. } => {
            explain(left, depth + 1, out);
            explain(right, depth + 1, out);
        }
        _ => {}
    }
}
