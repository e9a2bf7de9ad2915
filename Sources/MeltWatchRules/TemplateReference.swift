import MeltWatchCore

extension TemplateCatalog {
    /// The template reference as Markdown: every template's roles, parameters (unit, default,
    /// placeholder) and rules (class, priority, basis, condition), generated from the catalog so the
    /// documentation cannot drift from the code. `docs/templates.md` is this text (a test checks it).
    public static func referenceMarkdown() -> String {
        var md = """
        # Equipment templates

        Generated from the template catalog by `meltwatch templates`; do not edit by hand.
        Templates, roles, params and rule ids are contract (see domain.md). A default marked
        **site placeholder** has no national number behind it: set it for the site (`meltwatch check`
        lists the ones still at their placeholder). Every template also raises the sensor-health rules
        `stale`, `frozen` and `bad-quality` on every role, and `chattering` for a rule that raises three
        times within a minute (device alarms, basis `令10 第十四条`).

        Gates fail open: a gate role (the `Gate` below, and `cast_length` for the casting level gate)
        that has never reported, is stale or is bad counts as open, so the rules behind it are
        evaluated. Interlock latency and deadlines count from the start of the excursion that tripped
        (the first reading beyond the trip limit), not from the end of the alarm's on-delay. Rate rules
        compare a reading with the last one at or before the start of their window, over
        max(window, time between the two).

        Every template also carries the setpoint audit for the PLC setpoints its `setpoints:` names:

        """
        let sp = setpointRule
        md += "\n| Rule | Class | Priority | Basis | Condition |\n|---|---|---|---|---|\n"
        md += "| `\(sp.id)` | \(sp.alarmClass.rawValue) | \(sp.priority.rawValue) | `\(sp.basis)` | \(sp.summary) |\n"
        for t in all {
            md += "\n## `\(t.name)`\n\n\(capitalized(t.summary)).\n"
            if let gate = t.gateRole { md += "Gate (frozen detection applies while true): `\(gate)`.\n" }
            md += "\n| Role | Kind | |\n|---|---|---|\n"
            for r in t.roles {
                let kind = r.unit.map { "number, \($0)" } ?? "bool"
                md += "| `\(r.name)` | \(kind) | \(r.summary)\(r.isOptional ? " (optional)" : "") |\n"
            }
            md += "\n| Param | Unit or values | Default | |\n|---|---|---|---|\n"
            for p in t.params {
                let kind: String
                switch p.kind {
                case .number(let unit, let minimum): kind = "\(unit), ≥ \(JSONWriter.format(minimum))"
                case .choice(let words): kind = words.joined(separator: ", ")
                case .roles(let allowed): kind = "list of " + allowed.map { "`\($0)`" }.joined(separator: ", ")
                }
                let value = p.defaultValue.map { "\($0)" + (p.isSitePlaceholder ? " (site placeholder)" : "") } ?? "derived"
                md += "| `\(p.name)` | \(kind) | \(value) | \(p.summary) |\n"
            }
            md += "\n| Rule | Class | Priority | Basis | Condition |\n|---|---|---|---|---|\n"
            for r in t.rules {
                md += "| `\(r.id)` | \(r.alarmClass.rawValue) | \(r.priority.rawValue) | `\(r.basis)` | \(r.summary) |\n"
            }
        }
        return md
    }

    private static func capitalized(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst()
    }
}
