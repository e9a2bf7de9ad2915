import MeltWatchCore

/// A value of a template parameter after validation.
public enum ParamValue: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case choice(String)
    case roles([String])

    public var description: String {
        switch self {
        case .number(let d): JSONWriter.format(d)
        case .choice(let s): s
        case .roles(let r): "[" + r.joined(separator: ", ") + "]"
        }
    }
}

/// What a parameter accepts.
public enum ParamKind: Sendable, Equatable {
    /// A finite number in `unit`, at least `minimum`.
    case number(unit: String, minimum: Double)
    /// One of a fixed set of words.
    case choice([String])
    /// A list taken from `allowed` role names of this template (e.g. `expect`: the feedback roles).
    case roles(allowed: [String])
}

/// One documented parameter of a template (domain.md).
public struct ParamSpec: Sendable {
    public var name: String
    public var kind: ParamKind
    /// Nil only for parameters whose default derives from another (e.g. `expect` from `furnace_type`).
    public var defaultValue: ParamValue?
    /// True when no national number exists and the default is a placeholder the site must set.
    public var isSitePlaceholder: Bool
    public var summary: String
}

/// One signal a template reads.
public struct RoleSpec: Sendable {
    public enum Kind: Sendable, Equatable {
        case number(unit: String)
        case bool
    }

    public var name: String
    public var kind: Kind
    /// Optional roles may be absent at a site; their rules then stay idle.
    public var isOptional: Bool
    public var summary: String

    /// The unit of a numeric role, nil for booleans.
    public var unit: String? {
        if case .number(let u) = kind { return u }
        return nil
    }
}

/// A rule a template can raise, with the fixed facts every alarm of it carries.
public struct RuleSpec: Sendable, Equatable {
    public var id: String
    public var alarmClass: AlarmEvent.AlarmClass
    public var priority: AlarmEvent.Priority
    /// The legal basis string, verbatim from domain.md.
    public var basis: String
    /// The signals (roles) the rule reads, reported in the alarm's `signals`.
    public var signals: [String]
    public var unit: String?
    /// When the rule raises and clears, for the template reference (docs/templates.md).
    public var summary: String = ""
    /// The basis in a plant of another industry, where it differs (a CO detector in an aluminium plant
    /// cites 第五条(十一), not the steel clause).
    public var basisByIndustry: [Industry: String] = [:]

    /// The basis an alarm of this rule cites in a plant of `industry`.
    public func basis(in industry: Industry) -> String { basisByIndustry[industry] ?? basis }
}

/// A plant's industry (`plants[].industry`): the ledger's 行业类别, and which clause some rules cite.
public enum Industry: String, Sendable, Equatable, Hashable, CaseIterable {
    case steel
    /// Aluminium, a nonferrous industry (Order No. 10 第五条).
    case aluminium
    case dust

    /// The industry a plant's templates imply when the config does not say: aluminium when it casts
    /// aluminium, steel when it has steel equipment, dust when it has only dust collectors; steel for an
    /// empty plant.
    public static func inferred(fromTemplates ids: [TemplateID]) -> Industry {
        let industries = Set(ids.map(\.industry))
        if industries.contains(.aluminium) { return .aluminium }
        if industries.contains(.steel) { return .steel }
        return ids.isEmpty ? .steel : .dust
    }
}

/// A template's identifier: the name configs use (contract), as a type. Code that handles templates
/// one by one (the simulator's plant models and healthy scans) switches on it exhaustively, so a new
/// template is a compile error wherever it must be handled, not a silent `default:`.
public enum TemplateID: String, Sendable, CaseIterable, CustomStringConvertible {
    case waterCooledElement = "steel.water-cooled-element"
    case coDetector = "steel.co-detector"
    case blastFurnaceTop = "steel.blast-furnace-top"
    case dcCasting = "aluminium.dc-casting"
    case dryCollector = "dust.dry-collector"
    case wetCollector = "dust.wet-collector"

    public var description: String { rawValue }

    /// The industry the template belongs to (its name's prefix).
    public var industry: Industry {
        switch self {
        case .waterCooledElement, .coDetector, .blastFurnaceTop: .steel
        case .dcCasting: .aluminium
        case .dryCollector, .wetCollector: .dust
        }
    }
}

/// An equipment template: its roles, parameters, rules, and how to build its monitor.
public struct TemplateSpec: Sendable {
    public var id: TemplateID
    /// The name configs use (`template:`): ``id``'s raw value.
    public var name: String { id.rawValue }
    public var summary: String
    public var roles: [RoleSpec]
    public var params: [ParamSpec]
    public var rules: [RuleSpec]
    /// Builds the monitor for one configured equipment from resolved parameters (defaults applied).
    public var makeMonitor: @Sendable (_ params: [String: ParamValue]) -> any EquipmentMonitor
    /// The boolean role that says the equipment operates (frozen detection applies only then).
    public var gateRole: String? = nil

    /// The index of a role in ``roles``.
    public func roleIndex(_ name: String) -> Int? { roles.firstIndex { $0.name == name } }
    /// The parameter spec of that name.
    public func param(_ name: String) -> ParamSpec? { params.first { $0.name == name } }
}

/// Every template of domain.md.
public enum TemplateCatalog {
    /// The templates, in the order the reference lists them.
    public static let all: [TemplateSpec] = [
        WaterCooledElement.spec, CODetector.spec, BlastFurnaceTop.spec, DCCasting.spec, DryCollector.spec, WetCollector.spec,
    ]

    /// The template of that name, if implemented.
    public static func named(_ name: String) -> TemplateSpec? { all.first { $0.name == name } }


    /// `setpoint-mismatch`, which every template carries for its `setpoints:` (domain.md, "Setpoint
    /// audit"); the engine raises it (EngineCore+Setpoints), not a template's monitor.
    public static let setpointRule = RuleSpec(
        id: "setpoint-mismatch", alarmClass: .interlock, priority: .high,
        basis: "忻应急发〔2024〕216号: 设置的报警联锁参数值是否符合现场实际", signals: [], unit: nil,
        summary: "a setpoint of `setpoints:` (the PLC's own alarm or interlock setpoint, as the gateway publishes it) differs from its `approved` value by more than its `tolerance`; names the setpoint, its source, the value and the approved value; clears when it is back within. Every change is recorded for the audit report"
    )

    /// Sensor-health parameters every template accepts (domain.md, "Sensor health").
    static let healthParams = healthParams(frozenAfterSeconds: 600)

    /// The sensor-health parameters with `frozen_after_s` defaulting to `frozenAfterSeconds` (0 on
    /// ungated templates such as CO detectors, whose flat clean-air reading is their normal state).
    static func healthParams(frozenAfterSeconds: Double) -> [ParamSpec] {
        [
            ParamSpec(name: "stale_after_s", kind: .number(unit: "s", minimum: 1), defaultValue: .number(30),
                      isSitePlaceholder: false, summary: "no reading for this long makes a signal stale"),
            ParamSpec(name: "frozen_after_s", kind: .number(unit: "s", minimum: 0), defaultValue: .number(frozenAfterSeconds),
                      isSitePlaceholder: false,
                      summary: "unchanged value for this long while operating is frozen (never at the bottom of the role's `range`); 0 = off"),
        ]
    }
}

extension Dictionary where Key == String, Value == ParamValue {
    /// A numeric parameter; the catalog guarantees presence and type after config validation.
    func number(_ name: String) -> Double {
        if case .number(let d)? = self[name] { return d }
        preconditionFailure("parameter \(name) missing or not a number: config validation must fill defaults")
    }

    func choice(_ name: String) -> String? {
        if case .choice(let s)? = self[name] { return s }
        return nil
    }

    func roles(_ name: String) -> [String]? {
        if case .roles(let r)? = self[name] { return r }
        return nil
    }
}
