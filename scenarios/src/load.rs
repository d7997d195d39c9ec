//! Reading scenario files: never a panic, and every error names the file, line, column,
//! field path, what was found and what was expected, with a suggestion for a misspelt
//! name.

use std::fmt;
use std::path::Path;

use ron::Options;
use ron::extensions::Extensions;
use serde::de::DeserializeOwned;

use crate::checked::{Context, closest, with_context};
use crate::format::Scenario;

/// Why a scenario could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file (or `<input>`).
    pub file: String,
    /// 1-based line, 0 if unknown.
    pub line: usize,
    /// 1-based column, 0 if unknown.
    pub col: usize,
    /// The field path (`faults[2]`), empty at the top level.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.col)?;
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "in `{}`: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoadError {}

/// Reads and validates the scenario in `path`.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    parse(&read_text(path)?, &path.display().to_string())
}

/// Reads the scenario in `path` as if its `nodes` were `nodes`, and validates it whole at
/// that size (node ids in faults, regions, the protocol's settings), each error at its
/// position in the file and naming the size: what `compare --vary nodes=…` runs.
pub fn load_with_nodes(path: &Path, nodes: u32) -> Result<Scenario, LoadError> {
    let file = path.display().to_string();
    parse_as(&read_text(path)?, &file, Some(nodes)).map_err(|mut e| {
        e.message = format!("at nodes = {nodes}: {}", e.message);
        e
    })
}

/// The text of the file at `path`, or why it cannot be read.
fn read_text(path: &Path) -> Result<String, LoadError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        file: file.clone(),
        line: 0,
        col: 0,
        path: String::new(),
        message: format!("cannot read the file: {e}"),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| LoadError {
        file: file.clone(),
        line: 0,
        col: 0,
        path: String::new(),
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    Ok(text)
}

/// Parses and validates scenario text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Scenario, LoadError> {
    parse_as(text, file, None)
}

/// Parses scenario text, with `nodes` instead of the file's if given, and validates it.
fn parse_as(text: &str, file: &str, nodes: Option<u32>) -> Result<Scenario, LoadError> {
    // First pass: the shape of the file, with no cross-field checks.
    let first: Scenario = read(text, file)?;
    if let Some(n) = nodes
        && n != first.nodes
        && first.twins.is_some()
    {
        // Twins' second slots are numbered after the cluster's nodes, so faults naming
        // them would name other nodes at another size.
        let (line, col) = find_field(text, "twins");
        return Err(LoadError {
            file: file.to_string(),
            line,
            col,
            path: "twins".into(),
            message: format!(
                "a scenario with twins cannot be run at another size ({n} instead of {}): its twins' slots would be renumbered",
                first.nodes
            ),
        });
    }
    let info = first.protocol.info();
    let nodes = nodes.unwrap_or(first.nodes);
    let context = Context {
        // Faults may name the twins' slots too.
        nodes: nodes + crate::twins::twin_count(&first),
        protocol: info.name,
        bugs: info.bugs.iter().map(|b| b.name).collect(),
        behaviours: info.behaviours.iter().map(|b| b.name).collect(),
        family: Some(info.family),
        model: first.model.clone(),
        duration: first.duration.0,
        names: first.names.clone(),
        region_names: region_names(&first),
    };
    // Second pass: node ids, bug names, workload and faults checked against the rest of
    // the file, each at its own position.
    let mut scenario: Scenario = with_context(context, || read(text, file))?;
    scenario.nodes = nodes;
    validate_whole(&scenario, text, file)?;
    Ok(scenario)
}

/// Each named region of `s` and the nodes in it.
fn region_names(s: &Scenario) -> Vec<(String, Vec<u32>)> {
    let Some(r) = &s.network.regions else {
        return Vec::new();
    };
    r.names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let members = (0..r.nodes.len() as u32)
                .filter(|&n| r.nodes[n as usize] == i as u32)
                .collect();
            (name.clone(), members)
        })
        .collect()
}

fn options() -> Options {
    // `loss: 0.1` rather than `loss: Some(0.1)` for optional fields.
    Options::default().with_default_extension(Extensions::IMPLICIT_SOME)
}

fn read<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, LoadError> {
    let at = |line, col, path: String, message| LoadError {
        file: file.to_string(),
        line,
        col,
        path,
        message,
    };
    let mut de = ron::Deserializer::from_str_with_options(text, &options()).map_err(|e| {
        at(
            e.span.start.line,
            e.span.start.col,
            String::new(),
            describe(&e.code),
        )
    })?;
    let value = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => v,
        Err(e) => {
            let path = clean_path(&e.path().to_string());
            let code = e.into_inner();
            let spanned = de.span_error(code);
            return Err(at(
                spanned.span.start.line,
                spanned.span.start.col,
                path,
                describe(&spanned.code),
            ));
        }
    };
    if let Err(e) = de.end() {
        let spanned = de.span_error(e);
        return Err(at(
            spanned.span.start.line,
            spanned.span.start.col,
            String::new(),
            "unexpected text after the scenario (a scenario file holds one `( … )` value)".into(),
        ));
    }
    Ok(value)
}

/// serde_path_to_error writes `?` for positions it cannot name and `.0` for tuple fields;
/// keep what helps a reader find the spot.
fn clean_path(path: &str) -> String {
    if path == "." || path == "?" {
        String::new()
    } else {
        path.replace(".?", "")
    }
}

/// A readable message for a RON error, with a suggestion for misspelt names.
fn describe(code: &ron::Error) -> String {
    use ron::Error as E;
    match code {
        E::NoSuchStructField {
            expected, found, ..
        } => suggest(
            &format!("unknown field `{found}`"),
            found,
            expected,
            "fields",
        ),
        E::NoSuchEnumVariant {
            expected, found, ..
        } => suggest(&format!("unknown name `{found}`"), found, expected, "names"),
        E::MissingStructField { field, .. } => {
            format!("missing field `{field}`, which has no default")
        }
        E::DuplicateStructField { field, .. } => format!("field `{field}` is given twice"),
        E::Message(m) => recover(m),
        other => {
            let s = other.to_string();
            let mut c = s.chars();
            match c.next() {
                Some(first) => first.to_lowercase().chain(c).collect(),
                None => s,
            }
        }
    }
}

/// A protocol's settings are read through a type-erased deserializer (so that any
/// registered protocol's can be), which hands RON's structured errors back as their text,
/// marked. Read the names back out of that text, so the message is the same as anywhere
/// else.
fn recover(message: &str) -> String {
    if message
        == format!(
            "data did not match any variant of untagged enum {}",
            crate::groups::RAW_NAME
        )
    {
        return crate::groups::EXPECTED.to_string();
    }
    let Some(message) = message.strip_prefix(crate::registry::SETTINGS_ERROR) else {
        return message.to_string();
    };
    let ticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    for (prefix, head, what) in [
        ("Unexpected field named `", "unknown field", "fields"),
        ("Unexpected enum variant named `", "unknown name", "names"),
        ("Unexpected variant named `", "unknown name", "names"),
    ] {
        if message.starts_with(prefix) {
            let (found, rest) = match message.split_once(", expected") {
                Some((f, r)) => (ticked(f), ticked(r)),
                None => (ticked(message), Vec::new()),
            };
            let Some(found) = found.first() else { break };
            let expected: Vec<&str> = rest.iter().map(String::as_str).collect();
            return suggest(&format!("{head} `{found}`"), found, &expected, what);
        }
    }
    let field = ticked(message).into_iter().next().unwrap_or_default();
    if message.starts_with("Unexpected duplicate field named `") {
        return format!("field `{field}` is given twice");
    }
    if message.starts_with("Unexpected missing field named `") {
        return format!("missing field `{field}`, which has no default");
    }
    // Like RON's other errors elsewhere: lower case, as part of a sentence.
    let mut c = message.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn suggest(head: &str, found: &str, expected: &[&str], what: &str) -> String {
    let mut msg = head.to_string();
    if expected.is_empty() {
        msg.push_str(&format!("; no {what} are allowed here"));
    } else {
        msg.push_str(&format!("; expected one of {}", expected.join(", ")));
    }
    if let Some(s) = closest(found, expected.iter().copied()) {
        msg.push_str(&format!("; did you mean `{s}`?"));
    }
    msg
}

/// Checks that need the whole scenario: reported at the first line naming the field.
fn validate_whole(s: &Scenario, text: &str, file: &str) -> Result<(), LoadError> {
    let err = |field: &str, path: &str, message: String| {
        let (line, col) = find_field(text, field);
        Err(LoadError {
            file: file.to_string(),
            line,
            col,
            path: path.to_string(),
            message,
        })
    };
    if s.nodes == 0 {
        return err(
            "nodes",
            "nodes",
            "found 0, expected at least one node".into(),
        );
    }
    if s.nodes > 1_000_000 {
        return err(
            "nodes",
            "nodes",
            format!("found {}, expected at most 1000000 nodes", s.nodes),
        );
    }
    if let Err(bad) = s.protocol.validate(s.nodes) {
        let (line, col) = find_field_after(text, "protocol", bad.setting);
        return Err(LoadError {
            file: file.to_string(),
            line,
            col,
            path: format!("protocol.{}.{}", s.protocol.name(), bad.setting),
            message: bad.message,
        });
    }
    if s.model.network == crate::format::NetModel::Reliable && s.network.loss.0 > 0.0 {
        return err(
            "loss",
            "network.loss",
            "a Reliable network loses nothing; set loss to 0 or the model network to FairLoss"
                .into(),
        );
    }
    if let Err(m) = crate::model::latency_within(&s.model, &s.network.latency.0) {
        return err("latency", "network.latency", m);
    }
    if let crate::format::NodeModel::Byzantine { f } = s.model.nodes
        && f >= s.nodes
    {
        return err(
            "Byzantine",
            "model.nodes",
            format!(
                "f = {f} Byzantine nodes out of {} leaves no correct node",
                s.nodes
            ),
        );
    }
    if let Err((find, path, message)) = crate::twins::validate(s) {
        return err(find, path, message);
    }
    if let Err((find, path, message)) = crate::byzantine::validate(s) {
        return err(find, path, message);
    }
    if let Some(w) = s.workload.kind()
        && let Err(invalid) = w.validate()
    {
        return err(invalid.find, invalid.path, invalid.message);
    }
    if let crate::format::WorkloadSpec::KeyValue(kv) = &s.workload
        && kv.client_placement == sim_core::client::Placement::Home
        && s.network.regions.is_none()
    {
        return err(
            "Home",
            "workload.client_placement",
            "clients placed at a home node need regions (network.regions): without them every request, even to the home node, would pay the default link's latency; use Cluster, or give regions".into(),
        );
    }
    if s.checks.is_empty() {
        return err(
            "checks",
            "checks",
            "no checks: the run would judge nothing; give at least [Invariants]".into(),
        );
    }
    if let crate::format::Expect::Violation(want) = &s.expect {
        let mut names: Vec<String> = s
            .checks
            .iter()
            .map(|c| c.result_name().to_string())
            .collect();
        if s.checks.contains(&crate::format::CheckSpec::Invariants) {
            names.extend(s.protocol.invariant_names());
        }
        if !names.contains(want) {
            let mut message = format!(
                "no check of this scenario can report a violation of {want:?}; it can expect one of {}",
                names.join(", ")
            );
            if let Some(c) = closest(want, names.iter().map(String::as_str)) {
                message.push_str(&format!("; did you mean {c:?}?"));
            }
            return err("Violation", "expect", message);
        }
    }
    let family = s.protocol.family();
    let rules = crate::family::rules(family);
    for c in &s.checks {
        if !rules.checks().contains(&c.name()) {
            return err(
                c.name(),
                "checks",
                format!(
                    "{} does not apply to {} (a protocol of the {:?} family); its checks are {}",
                    c.name(),
                    s.protocol.name(),
                    family,
                    rules.checks().join(", ")
                ),
            );
        }
    }
    if let Some(r) = &s.network.regions {
        if r.nodes.len() != s.nodes as usize {
            return err(
                "regions",
                "network.regions.nodes",
                format!("{} regions given for {} nodes", r.nodes.len(), s.nodes),
            );
        }
        let k = r.latency.len();
        if r.latency.iter().any(|row| row.len() != k) || r.nodes.iter().any(|&x| x as usize >= k) {
            return err(
                "regions",
                "network.regions.latency",
                format!(
                    "the latency matrix must be square and cover every region used (it is {k} rows)"
                ),
            );
        }
    }
    if let Err(m) = names_fit(s) {
        return err("names", "names", m);
    }
    for (i, t) in s.faults.iter().enumerate() {
        if let crate::format::FaultSpec::Partition(groups) = t.fault()
            && let Some((a, b, node)) = crate::groups::overlap(groups)
        {
            let (line, col) = find_nth(text, "Partition", i_partition(s, i));
            return Err(LoadError {
                file: file.to_string(),
                line,
                col,
                path: format!("faults[{i}]"),
                message: format!(
                    "node {node} is in group {a} and in group {b}: the groups of a partition must not share nodes"
                ),
            });
        }
    }
    if let Some(r) = &s.network.regions
        && !r.names.is_empty()
        && r.names.len() != r.latency.len()
    {
        return err(
            "names",
            "network.regions.names",
            format!(
                "{} region names given for {} regions (the latency matrix's rows)",
                r.names.len(),
                r.latency.len()
            ),
        );
    }
    if s.network.bandwidth == Some(0) {
        return err(
            "bandwidth",
            "network.bandwidth",
            "found 0, expected bytes per second above zero".into(),
        );
    }
    Ok(())
}

/// Node names, if given: one per node, distinct from each other and from region names,
/// and not readable as an id or a range.
fn names_fit(s: &Scenario) -> Result<(), String> {
    if !s.names.is_empty() && s.names.len() != s.nodes as usize {
        return Err(format!(
            "{} names given for {} nodes: name every node or none",
            s.names.len(),
            s.nodes
        ));
    }
    let regions = s
        .network
        .regions
        .as_ref()
        .map(|r| r.names.clone())
        .unwrap_or_default();
    for (i, n) in regions.iter().enumerate() {
        if crate::groups::reserved(n) {
            return Err(format!(
                "region {i}'s name {n:?} reads as an id, a range or a target; give another word"
            ));
        }
        if regions[..i].contains(n) {
            return Err(format!("the region name {n:?} is given twice"));
        }
    }
    for (i, n) in s.names.iter().enumerate() {
        if crate::groups::reserved(n) {
            return Err(format!(
                "node {i}'s name {n:?} reads as an id, a range or a target; give another word"
            ));
        }
        if s.names[..i].contains(n) || regions.contains(n) {
            return Err(format!("the name {n:?} is given twice"));
        }
    }
    Ok(())
}

/// How many of the faults before `i` are partitions: which `Partition` of the text the
/// fault `i` is.
fn i_partition(s: &Scenario, i: usize) -> usize {
    s.faults[..i]
        .iter()
        .filter(|t| matches!(t.fault(), crate::format::FaultSpec::Partition(_)))
        .count()
}

/// Line and column of the `n`th (0-based) occurrence of `word` in `text` (1-based), or
/// (0, 0).
fn find_nth(text: &str, word: &str, n: usize) -> (usize, usize) {
    let Some((at, _)) = text.match_indices(word).nth(n) else {
        return (0, 0);
    };
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |p| p + 1) + 1;
    (line, col)
}

/// Line and column of the first `field` at or after the first line naming `anchor`
/// (1-based); the anchor's own position if the field is not written (a default), or (0, 0).
fn find_field_after(text: &str, anchor: &str, field: &str) -> (usize, usize) {
    let (line, col) = find_field(text, anchor);
    if line == 0 {
        return (0, 0);
    }
    for (i, l) in text.lines().enumerate().skip(line - 1) {
        let code = l.split("//").next().unwrap_or("");
        let from = if i + 1 == line { col - 1 } else { 0 };
        if let Some(c) = code.get(from..).and_then(|rest| rest.find(field)) {
            return (i + 1, from + c + 1);
        }
    }
    (line, col)
}

/// Line and column of the first `field:` in the text (1-based), or (0, 0).
fn find_field(text: &str, field: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        if let Some(c) = code.find(field) {
            return (i + 1, c + 1);
        }
    }
    (0, 0)
}
