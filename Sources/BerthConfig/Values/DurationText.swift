/// Durations in the app file: `250ms`, `2s`, `1.5s`, `1m`, or a plain whole number of seconds.
/// Stored in milliseconds.
enum DurationText {
    static let examples = "250ms, 2s, 1.5s or 1m"
    /// One day: longer makes no sense for a probe or a stop timeout, and keeps the arithmetic small.
    static let maxMilliseconds = 86_400_000

    enum Problem: Error, Equatable {
        /// Not a duration at all.
        case malformed
        /// A plain number with a fraction (`1.5`): plain numbers mean whole seconds.
        case fractionWithoutUnit
        /// Not a whole number of milliseconds (`1.5ms`).
        case subMillisecond
        case zero
        case tooLong
    }

    static func milliseconds(_ text: String) -> Result<Int, Problem> {
        let units: [(suffix: String, factor: Int)] = [("ms", 1), ("s", 1_000), ("m", 60_000)]
        var number = Substring(text)
        var factor = 1_000
        var hasUnit = false
        for unit in units where number.hasSuffix(unit.suffix) {
            number = number.dropLast(unit.suffix.count)
            factor = unit.factor
            hasUnit = true
            break
        }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) })
        else { return .failure(.malformed) }
        if parts.count == 2, !hasUnit { return .failure(.fractionWithoutUnit) }
        let whole = parts[0].drop { $0 == "0" }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard whole.count <= 9, fraction.count <= 9 else { return .failure(.tooLong) }
        var total = (Int(whole) ?? 0) * factor
        if !fraction.isEmpty {
            var scale = 1
            for _ in fraction { scale *= 10 }
            let scaled = (Int(fraction) ?? 0) * factor
            guard scaled % scale == 0 else { return .failure(.subMillisecond) }
            total += scaled / scale
        }
        if total == 0 { return .failure(.zero) }
        if total > maxMilliseconds { return .failure(.tooLong) }
        return .success(total)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
