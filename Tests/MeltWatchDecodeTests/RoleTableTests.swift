import MeltWatchCore
import Testing

@testable import MeltWatchDecode

@Suite("Role lookup: the perfect table finds every role and nothing else")
struct RoleTableTests {
    /// Role sets: the catalog's kind of names, short ones (< 8 bytes), 8…16 bytes, long ones sharing
    /// their ends, non-ASCII, and one role alone.
    static let roleSets: [[String]] = [
        ["inlet_flow", "outlet_flow", "inlet_temp", "outlet_temp", "furnace_operating", "interlock_feedback", "bypass"],
        ["co", "q", "v", "ts", "seq", "alarm", "a1", "a2", "a3"],
        ["12345678", "123456789", "1234567890abcdef", "1234567890abcdeg", "x2345678"],
        ["cooling_water_pressure_zone_1_outlet", "cooling_water_pressure_zone_2_outlet", "cooling_water_pressure_zone_1_inlet"],
        ["température", "débit", "niveau_été"],
        ["only"],
        (0..<60).map { "role_\($0)" },
    ]

    private func roles(_ names: [String]) -> [String: SignalID] {
        Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, SignalID(Int32($0 * 3 + 7))) })
    }

    private func lookup(_ roles: EquipmentRoles, _ key: [UInt8]) -> SignalID? {
        key.withUnsafeBytes { roles.lookup($0)?.signal }
    }

    @Test("every role maps to its signal; every near miss maps to nothing", arguments: roleSets)
    func exact(_ names: [String]) throws {
        let table = try EquipmentRoles(roles(names))
        let byName = roles(names)
        let named = Set(names.map { Array($0.utf8) })
        for name in names {
            let key = Array(name.utf8)
            #expect(lookup(table, key) == byName[name], "\(name)")
            var misses: [[UInt8]] = [Array(key.dropLast()), key + [0x5F], [0x5F] + key, Array(key.dropFirst()), []]
            for i in key.indices {
                var changed = key
                changed[i] ^= 0x01
                misses.append(changed)
            }
            for miss in misses where !named.contains(miss) {
                #expect(lookup(table, miss) == nil, "\(name) → \(String(decoding: miss, as: UTF8.self))")
            }
        }
    }

    @Test("role indices are dense and in byte order, as duplicate tracking needs", arguments: roleSets)
    func indices(_ names: [String]) throws {
        let table = try EquipmentRoles(roles(names))
        for (i, name) in table.roleNames.enumerated() {
            #expect(Array(name.utf8).withUnsafeBytes { table.lookup($0)?.index } == i)
        }
    }

    @Test("more roles than the perfect table takes still look up exactly, through the general table")
    func manyRoles() throws {
        let names = (0..<(RoleTable.maxRoles + 45)).map { "signal_\($0)" }
        let keys = names.map { Array($0.utf8) }
        #expect(RoleTable(keys: keys, signals: keys.indices.map { SignalID(Int32($0)) }) == nil)
        let table = try EquipmentRoles(roles(names))
        for name in names { #expect(lookup(table, Array(name.utf8)) == roles(names)[name]) }
        #expect(lookup(table, Array("signal_300".utf8)) == nil)
    }
}
