import MeltWatchCore
import MeltWatchRules
import Yams

extension Validator {
    mutating func equipment(_ node: Node, gateways: [MeltWatchConfig.Gateway] = [], at path: String) -> MeltWatchConfig.Equipment? {
        guard let m = mapping(node, at: path, allowed: ["id", "template", "params", "signals", "setpoints", "sparkplug"]) else { return nil }
        guard let id = requiredString(m, "id", at: path, parent: node) else { return nil }
        if !Validator.isIdentifier(id) { error(m["id"], "\(path).id '\(id)' must match [a-z0-9-]+") }
        let epath = path
        guard let templateName = requiredString(m, "template", at: epath, parent: node) else { return nil }
        guard let template = TemplateCatalog.named(templateName) else {
            let known = TemplateCatalog.all.map(\.name).joined(separator: ", ")
            error(m["template"], "\(epath).template '\(templateName)' is unknown; allowed: \(known)")
            return nil
        }
        let params = self.params(m["params"], template: template, at: "\(epath).params")
        orderChecks(params, node: m["params"] ?? node, at: "\(epath).params")
        let signals = self.signalOverrides(m["signals"], template: template, at: "\(epath).signals")
        var explicit = Set<String>()
        if case .mapping(let given)? = m["params"] {
            for (key, _) in given { if let name = key.string { explicit.insert(name) } }
        }
        let setpoints = self.setpoints(m["setpoints"], template: template, at: "\(epath).setpoints")
        let sparkplug = sparkplugSource(m["sparkplug"], gateways: gateways, at: "\(epath).sparkplug")
        return .init(id: id, template: template, params: params, signals: signals, setpoints: setpoints, explicitParams: explicit,
                     sparkplug: sparkplug)
    }

    /// `setpoints:`: the PLC's own alarm and interlock setpoints, each with its approved value and a
    /// tolerance (domain.md "Setpoint audit"). A setpoint is read from a topic of MeltWatch's own JSON,
    /// or by `tag:` from a declared gateway format (on a Sparkplug equipment: the metric name).
    private mutating func setpoints(_ node: Node?, template: TemplateSpec, at path: String) -> [MeltWatchConfig.Setpoint] {
        guard let node else { return [] }
        guard case .sequence(let seq) = node else {
            error(node, "\(path) must be a list of setpoints (name, topic, approved, tolerance, unit)")
            return []
        }
        var out: [MeltWatchConfig.Setpoint] = []
        var names = Set(template.roles.map(\.name))
        for (k, item) in seq.enumerated() {
            let spath = "\(path)[\(k)]"
            guard let m = mapping(item, at: spath, allowed: ["name", "tag", "topic", "approved", "tolerance", "unit"]) else { continue }
            guard let name = requiredString(m, "name", at: spath, parent: item) else { continue }
            if !Validator.isSetpointName(name) {
                error(m["name"], "\(spath).name '\(name)' must match [a-z0-9_-]+")
            } else if !names.insert(name).inserted {
                error(m["name"], "\(spath).name '\(name)' is already a role or setpoint of this equipment; names must be unique")
            }
            var topic: String?
            if let t = string(m["topic"], at: "\(spath).topic") {
                if Validator.isLiteralTopic(t) { topic = t } else {
                    error(m["topic"], "\(spath).topic '\(t)' must be a literal topic (no + or #, not starting with $)")
                }
            }
            let tag = string(m["tag"], at: "\(spath).tag")
            if m["tag"] != nil && m["topic"] != nil {
                error(m["tag"], "\(spath): topic and tag are two sources; give one")
            } else if m["topic"] == nil && m["tag"] == nil {
                error(item, "\(spath) needs topic: (MeltWatch's own JSON) or tag: (a declared gateway format) where this setpoint is published")
            }
            if let tag, tag.isEmpty { error(m["tag"], "\(spath).tag must not be empty") }
            guard let approvedNode = m["approved"] else {
                error(item, "\(spath).approved is required: the approved value the PLC's setpoint must match")
                continue
            }
            let unit = string(m["unit"], at: "\(spath).unit")
            let approved = number(approvedNode, at: "\(spath).approved", unit: unit ?? "", minimum: -.greatestFiniteMagnitude)
            let tolerance = m["tolerance"].flatMap { number($0, at: "\(spath).tolerance", unit: unit ?? "", minimum: 0) } ?? 0
            guard topic != nil || tag != nil, let approved else { continue }
            out.append(.init(name: name, topic: topic, tag: tag, approved: approved, tolerance: tolerance, unit: unit))
        }
        return out
    }

    private mutating func params(_ node: Node?, template: TemplateSpec, at path: String) -> [String: ParamValue] {
        var out: [String: ParamValue] = [:]
        for p in template.params { if let d = p.defaultValue { out[p.name] = d } }
        guard let node, let m = mapping(node, at: path, allowed: template.params.map(\.name)) else { return out }
        for (name, valueNode) in m {
            guard let spec = template.param(name) else { continue }
            switch spec.kind {
            case .number(let unit, let minimum):
                if let d = number(valueNode, at: "\(path).\(name)", unit: unit, minimum: minimum) { out[name] = .number(d) }
            case .choice(let allowed):
                if let s = string(valueNode, at: "\(path).\(name)") {
                    if allowed.contains(s) { out[name] = .choice(s) } else {
                        error(valueNode, "\(path).\(name) is '\(s)'; allowed: \(allowed.joined(separator: ", "))")
                    }
                }
            case .roles(let allowed):
                guard case .sequence(let seq) = valueNode else {
                    error(valueNode, "\(path).\(name) must be a list; allowed: \(allowed.joined(separator: ", "))")
                    continue
                }
                var roles: [String] = []
                for r in seq {
                    guard let role = string(r, at: "\(path).\(name)[]") else { continue }
                    if allowed.contains(role) { roles.append(role) } else {
                        error(r, "\(path).\(name): '\(role)' is not allowed; allowed: \(allowed.joined(separator: ", "))")
                    }
                }
                out[name] = .roles(roles)
            }
        }
        return out
    }

    private mutating func signalOverrides(_ node: Node?, template: TemplateSpec, at path: String) -> [String: MeltWatchConfig.SignalOverride] {
        guard let node, let m = mapping(node, at: path, allowed: template.roles.map(\.name)) else { return [:] }
        var out: [String: MeltWatchConfig.SignalOverride] = [:]
        for (role, valueNode) in m {
            let rpath = "\(path).\(role)"
            guard let rm = mapping(valueNode, at: rpath, allowed: ["topic", "tag", "stale_after_s", "range"]) else { continue }
            var o = MeltWatchConfig.SignalOverride()
            if let t = string(rm["topic"], at: "\(rpath).topic") {
                if Validator.isLiteralTopic(t) { o.topic = t } else {
                    error(rm["topic"], "\(rpath).topic '\(t)' must be a literal topic (no + or #, not starting with $)")
                }
            }
            if let t = string(rm["tag"], at: "\(rpath).tag") {
                if rm["topic"] != nil {
                    error(rm["tag"], "\(rpath): topic and tag are two sources; give one")
                } else if t.isEmpty {
                    error(rm["tag"], "\(rpath).tag must not be empty")
                } else {
                    o.tag = t
                }
            }
            if let s = rm["stale_after_s"] { o.staleAfterSeconds = number(s, at: "\(rpath).stale_after_s", unit: "s", minimum: 1) }
            if let r = rm["range"] {
                if case .sequence(let seq) = r, seq.count == 2,
                   let lo = number(seq[0], at: "\(rpath).range[0]", unit: template.roles[template.roleIndex(role)!].unit ?? "", minimum: -.greatestFiniteMagnitude),
                   let hi = number(seq[1], at: "\(rpath).range[1]", unit: template.roles[template.roleIndex(role)!].unit ?? "", minimum: -.greatestFiniteMagnitude) {
                    if lo < hi { o.range = lo...hi } else { error(r, "\(rpath).range must be [min, max] with min < max") }
                } else if case .sequence(let seq) = r, seq.count == 2 {
                    // number() already reported the element
                } else {
                    error(r, "\(rpath).range must be [min, max]")
                }
            }
            out[role] = o
        }
        return out
    }

    /// Limits that must be ordered: a warn level below its trip level, a warn time within the deadline.
    private mutating func orderChecks(_ params: [String: ParamValue], node: Node, at path: String) {
        for (low, high) in Self.orderedParams {
            if case .number(let l)? = params[low], case .number(let h)? = params[high], h <= l {
                error(node, "\(path).\(high) (\(JSONWriter.format(h))) must be above \(path).\(low) (\(JSONWriter.format(l)))")
            }
        }
        if case .number(let warn)? = params["interlock_warn_s"], case .number(let dl)? = params["interlock_deadline_s"], warn > dl {
            error(node, "\(path).interlock_warn_s (\(JSONWriter.format(warn))) must not exceed \(path).interlock_deadline_s (\(JSONWriter.format(dl)))")
        }
    }

    /// Parameter pairs whose second must be above the first wherever a template has both.
    static let orderedParams: [(String, String)] = [
        ("level_1", "level_2"), ("outlet_temp_high", "outlet_temp_high_high"), ("level_low", "level_high"),
        ("diff_pressure_low", "diff_pressure_high"),
    ]

    /// Checks that span sections: unique topics, level ordering, a duty route for CO detectors.
    mutating func crossChecks(_ config: MeltWatchConfig, plantsNode: Node, dutyNode: Node) {
        var topics: [String: String] = [:]
        for s in config.signals {
            guard let topic = s.topic else { continue }
            let owner = "\(s.plant)/\(s.equipment).\(s.role)"
            if let other = topics[topic] {
                error(plantsNode, "topic '\(topic)' is used by both \(other) and \(owner); every signal needs its own topic")
            }
            topics[topic] = owner
        }
        gatewayChecks(config, plantsNode: plantsNode, dutyNode: dutyNode)
        for t in config.equipmentTopics where topics[t.topic] != nil {
            error(plantsNode, "topic '\(t.topic)' is both a signal override and an equipment batch topic")
        }
        let hasCO = config.allEquipment.contains { $0.equipment.template.id == .coDetector }
        if hasCO && config.duty.webhooks.isEmpty && config.duty.mqttTopicPrefix == nil {
            error(dutyNode, "CO detectors are configured but duty has no route (duty.webhooks or duty.mqtt_topic_prefix): "
                + "CO alarms must reach the 24-hour duty room (令10 第四条(六))")
        }
    }
}
