/// Berth's own version, printed by `berth --version` and recorded nowhere else.
enum BerthVersion {
    static let current = "0.1.0"
}
