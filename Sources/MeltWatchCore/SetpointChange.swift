/// A published PLC setpoint that changed (domain.md, "Setpoint audit"): recorded for every change,
/// within tolerance or not, for the audit report. The first reading of a setpoint is a change from
/// nothing (`previous` nil).
public struct SetpointChange: Sendable, Equatable {
    public var plant: String
    public var equipment: String
    /// The setpoint's name in the config (`setpoints[].name`).
    public var name: String
    /// Where it is read: the tag or topic the config names.
    public var source: String
    public var value: Double
    public var previous: Double?
    public var approved: Double
    public var tolerance: Double
    public var unit: String?
    /// Event time of the reading that showed the new value.
    public var time: EventTime

    /// Creates a record.
    public init(plant: String, equipment: String, name: String, source: String, value: Double, previous: Double?,
                approved: Double, tolerance: Double, unit: String?, time: EventTime) {
        self.plant = plant
        self.equipment = equipment
        self.name = name
        self.source = source
        self.value = value
        self.previous = previous
        self.approved = approved
        self.tolerance = tolerance
        self.unit = unit
        self.time = time
    }

    /// Whether the value differs from the approved one by more than the tolerance.
    public var mismatch: Bool { Self.mismatch(value, approved: approved, tolerance: tolerance) }

    /// More than `tolerance` away from `approved` (a millionth of slack for decimal float noise).
    public static func mismatch(_ value: Double, approved: Double, tolerance: Double) -> Bool {
        abs(value - approved) > tolerance + 1e-9 * max(1, abs(approved))
    }
}
