import MeltWatchRules

/// The plant a scenario is written for: which equipment, with which parameters and signal settings.
///
/// A scenario's expected alarms hold for a config with this plant section (``plantsYAML``); the
/// integration tests write exactly that, and `meltwatch-sim` warns when a config it is given
/// differs in a setting the scenario relies on. ``standard`` is one BOF lance element and one CO
/// detector; scenarios add what they need (a short `frozen_after_s`, a `rate_max`, a `range`).
public struct Rig: Sendable {
    /// One `key: value` setting, the value as a YAML scalar or flow literal.
    public struct Setting: Sendable, Equatable {
        public var key: String
        public var value: String
    }

    /// One equipment entry of the plant.
    public struct Equipment: Sendable {
        public var id: String
        public var template: String
        /// `params:` in the order written.
        public var params: [Setting]
        /// `signals.<role>:` overrides, per role in the order written.
        public var signals: [(role: String, settings: [Setting])]
        /// `setpoints:` entries, each as its settings in the order written.
        public var setpoints: [[Setting]] = []

        /// A numeric parameter: the rig's value, else the template's documented default.
        public func number(_ name: String) -> Double? {
            if let s = params.last(where: { $0.key == name }) { return Double(s.value) }
            if case .number(let d)? = TemplateCatalog.named(template)?.param(name)?.defaultValue { return d }
            return nil
        }

        /// A choice parameter: the rig's value, else the template's documented default.
        public func choice(_ name: String) -> String? {
            if let s = params.last(where: { $0.key == name }) { return s.value }
            if case .choice(let c)? = TemplateCatalog.named(template)?.param(name)?.defaultValue { return c }
            return nil
        }
    }

    public var plant: String
    public var plantName: String
    public var equipment: [Equipment]
    /// What this rig changes relative to ``standard``, for listings (`bof1-lance frozen_after_s: 5`).
    public private(set) var changes: [String] = []

    /// The scenarios' default plant: a BOF oxygen-lance element (one topic override, so both the
    /// per-signal and the override routing are exercised) and a CO detector with the GB 6222 levels.
    public static let standard = Rig(
        plant: "baotou-steel", plantName: "包头钢铁 一炼钢",
        equipment: [
            Equipment(
                id: "bof1-lance", template: "steel.water-cooled-element",
                params: [
                    .init(key: "furnace_type", value: "bof"), .init(key: "flow_difference_max", value: "3.0"),
                    .init(key: "on_delay_s", value: "2"), .init(key: "interlock_warn_s", value: "2"),
                    .init(key: "interlock_deadline_s", value: "5"),
                ],
                signals: [(role: "inlet_flow", settings: [.init(key: "topic", value: "site/bof1/lance/FT101")])]
            ),
            Equipment(id: "co-1", template: "steel.co-detector", params: [.init(key: "preset", value: "gb6222")], signals: []),
        ]
    )

    /// An aluminium deep-well casting station on a fixed furnace (shut-off, drain and platform stop on
    /// every trip), with a one-second on-delay.
    public static let aluminium = Rig(
        plant: "nantong-aluminium", plantName: "铝合金深井铸造车间",
        equipment: [
            Equipment(
                id: "cast1", template: "aluminium.dc-casting",
                params: [
                    .init(key: "furnace", value: "fixed"), .init(key: "on_delay_s", value: "1"),
                    .init(key: "interlock_warn_s", value: "2"), .init(key: "interlock_deadline_s", value: "5"),
                ],
                signals: []
            ),
        ]
    )

    /// A dust plant: a bag-filter dry collector and a wet scrubber, two-second on-delays.
    public static let dust = Rig(
        plant: "foshan-polishing", plantName: "铝制品抛光 除尘系统",
        equipment: [
            Equipment(id: "dc1", template: "dust.dry-collector", params: [.init(key: "on_delay_s", value: "2")], signals: []),
            Equipment(id: "wc1", template: "dust.wet-collector", params: [.init(key: "on_delay_s", value: "2")], signals: []),
        ]
    )

    /// A blast furnace top with its bleeder interlock (warn 2 s, deadline 5 s).
    public static let blastFurnace = Rig(
        plant: "baotou-steel", plantName: "包头钢铁 炼铁厂",
        equipment: [
            Equipment(
                id: "bf1-top", template: "steel.blast-furnace-top",
                params: [
                    .init(key: "top_pressure_max", value: "250"), .init(key: "interlock_warn_s", value: "2"),
                    .init(key: "interlock_deadline_s", value: "5"),
                ],
                signals: []
            ),
        ]
    )

    /// This rig with `equipment.params.key` set to `value` (a YAML literal).
    public func param(_ equipment: String, _ key: String, _ value: String) -> Rig {
        var r = self
        let i = r.index(equipment)
        r.equipment[i].params.removeAll { $0.key == key }
        r.equipment[i].params.append(.init(key: key, value: value))
        r.changes.append("\(equipment) \(key): \(value)")
        return r
    }

    /// This rig with `equipment.signals.role.key` set to `value` (a YAML literal).
    public func signal(_ equipment: String, _ role: String, _ key: String, _ value: String) -> Rig {
        var r = self
        let i = r.index(equipment)
        if let j = r.equipment[i].signals.firstIndex(where: { $0.role == role }) {
            r.equipment[i].signals[j].settings.removeAll { $0.key == key }
            r.equipment[i].signals[j].settings.append(.init(key: key, value: value))
        } else {
            r.equipment[i].signals.append((role: role, settings: [.init(key: key, value: value)]))
        }
        r.changes.append("\(equipment) signals.\(role).\(key): \(value)")
        return r
    }

    /// This rig with a `setpoints:` entry added to `equipment` (values as YAML literals).
    public func setpoint(_ equipment: String, _ settings: [(String, String)]) -> Rig {
        var r = self
        let i = r.index(equipment)
        r.equipment[i].setpoints.append(settings.map { .init(key: $0.0, value: $0.1) })
        r.changes.append("\(equipment) setpoint \(settings.first?.1 ?? "")")
        return r
    }

    /// The equipment with that id (it must exist).
    public func equipment(_ id: String) -> Equipment { equipment[index(id)] }

    /// The rig's equipment of `template` (only the one named `only`, when given): what an expectation
    /// about a template holds for.
    public func equipment(of template: String, only: String?) -> [Equipment] {
        equipment.filter { $0.template == template && (only ?? $0.id) == $0.id }
    }

    private func index(_ id: String) -> Int {
        guard let i = equipment.firstIndex(where: { $0.id == id }) else { preconditionFailure("rig has no equipment \(id)") }
        return i
    }

    /// The `plants:` section of a MeltWatch config (contract section 2) for this rig.
    public var plantsYAML: String { "plants:\n" + plantYAML() }

    /// A gateway format a plant of this rig can publish in: MeltWatch's own JSON, or one of contract
    /// §3's gateway formats (`json` is the mapped one).
    public enum Format: String, Sendable, CaseIterable {
        case native, sparkplugB = "sparkplug-b", kepwareIoT = "kepware-iot", neuron, json
    }

    /// The field mapping of the `json` gateway a rig's plant gets: a home-grown gateway that
    /// publishes `{"site":…,"data":{"points":[{"name":…,"val":…,"t":<epoch s>,"st":0|1}]}}`.
    public static let mappedJSON = "readings: data.points, tag: name, value: val, time: t, time_format: epoch_s, quality: st, good: [0]"

    /// This rig's plant entry (`  - id: …`), as plant `id` (default: the rig's), its gateway
    /// publishing in `format`: with `native` the topics of MeltWatch's own JSON; with `sparkplug-b`
    /// each equipment is a device of one edge node, its metrics named by role; with `kepware-iot`,
    /// `neuron` and `json` every role and setpoint is bound by a tag (`Channel1.<equipment>.<role>`,
    /// `<plant>-node/<equipment>/<role>`, `<equipment>.<role>`). Topic overrides give way to the format.
    public func plantYAML(id: String? = nil, format: Format = .native) -> String {
        let id = id ?? plant
        func flow(_ s: [Setting]) -> String { "{ " + s.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + " }" }
        func tag(_ equipment: String, _ role: String) -> String? {
            switch format {
            case .native, .sparkplugB: nil
            case .kepwareIoT: "\"Channel1.\(equipment).\(role)\""
            case .json: "\"\(equipment).\(role)\""
            case .neuron: "\"\(id)-node/\(equipment)/\(role)\""
            }
        }
        var y = "  - id: \(id)\n    name: \(plantName)\n"
        switch format {
        case .native: break
        case .json: y += "    gateways:\n      - { format: json, topic: acme/\(id)/+, \(Self.mappedJSON) }\n"
        case .sparkplugB: y += "    gateways:\n      - { format: sparkplug-b, group_id: \(id) }\n"
        case .kepwareIoT: y += "    gateways:\n      - { format: kepware-iot, topic: kepware/\(id)/# }\n"
        case .neuron: y += "    gateways:\n      - { format: neuron, topic: neuron/\(id)/# }\n"
        }
        y += "    equipment:\n"
        for e in equipment {
            y += "      - id: \(e.id)\n        template: \(e.template)\n"
            if !e.params.isEmpty { y += "        params: \(flow(e.params))\n" }
            if format == .sparkplugB { y += "        sparkplug: { edge: \(id)-edge, device: \(e.id) }\n" }
            var signals = e.signals
            if format != .native {
                for i in signals.indices { signals[i].settings.removeAll { $0.key == "topic" } }
                for role in TemplateCatalog.named(e.template)?.roles.map(\.name) ?? [] {
                    guard let t = tag(e.id, role) else { continue }
                    if let i = signals.firstIndex(where: { $0.role == role }) {
                        signals[i].settings.append(.init(key: "tag", value: t))
                    } else {
                        signals.append((role: role, settings: [.init(key: "tag", value: t)]))
                    }
                }
                signals.removeAll { $0.settings.isEmpty }
            }
            if !signals.isEmpty {
                y += "        signals:\n"
                for s in signals { y += "          \(s.role): \(flow(s.settings))\n" }
            }
            if !e.setpoints.isEmpty {
                y += "        setpoints:\n"
                for var s in e.setpoints {
                    if format != .native, let name = s.first(where: { $0.key == "name" })?.value {
                        s.removeAll { $0.key == "topic" }
                        s.append(.init(key: "tag", value: tag(e.id, name) ?? name))
                    }
                    y += "          - \(flow(s))\n"
                }
            }
        }
        return y
    }
}
