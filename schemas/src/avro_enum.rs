//! The link between each Rust enum of [`crate::enums`] and its Avro enum: symbols in
//! declaration order, index <-> variant. A test checks every `.avsc` against these.

use crate::enums::{
    AdminAction, ChangeKind, ConflictResolution, CrmSystem, Direction, ErrorCategory, ErrorSource,
    LogLevel, MailSystem, ObjectType, Operation, SessionStatus, SyncSetting, Trigger,
};

/// A Rust enum that travels as an Avro enum: the Avro symbol of each variant is the
/// variant's name, and its index is the declaration order.
pub trait AvroEnum: Copy + Eq + 'static {
    /// The Avro enum's name (without namespace), e.g. `ObjectType`.
    const NAME: &'static str;
    /// Every variant, in Avro symbol order.
    const ALL: &'static [Self];
    /// The Avro symbols, same order as [`AvroEnum::ALL`].
    const SYMBOLS: &'static [&'static str];
    /// The symbol used when a reader meets a symbol it does not know, if the enum has
    /// one (only enums that may grow).
    const DEFAULT: Option<&'static str>;

    /// Position of the variant in the symbols.
    fn index(self) -> usize;

    /// The Avro symbol of the variant.
    fn symbol(self) -> &'static str {
        Self::SYMBOLS.get(self.index()).copied().unwrap_or("")
    }

    /// The variant at an Avro index, if in range.
    fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// The variant named by an Avro symbol.
    fn from_symbol(symbol: &str) -> Option<Self> {
        Self::SYMBOLS
            .iter()
            .position(|s| *s == symbol)
            .and_then(Self::from_index)
    }
}

macro_rules! avro_enum {
    ($ty:ident, $default:expr, [$($variant:ident),+ $(,)?]) => {
        impl AvroEnum for $ty {
            const NAME: &'static str = stringify!($ty);
            const ALL: &'static [Self] = &[$($ty::$variant),+];
            const SYMBOLS: &'static [&'static str] = &[$(stringify!($variant)),+];
            const DEFAULT: Option<&'static str> = $default;

            fn index(self) -> usize {
                // The exhaustive match makes adding a variant without listing it here a
                // compile error; a unit test checks the listed order is the declaration
                // order, so the discriminant is the Avro index.
                match self {
                    $($ty::$variant)|+ => self as usize,
                }
            }
        }
    };
}

avro_enum!(
    Trigger,
    None,
    [Schedule, ForcedByUser, ForcedByAdmin, Adaptive]
);
avro_enum!(SessionStatus, None, [Success, Error, Canceled, Skipped]);
avro_enum!(
    ErrorCategory,
    Some("Unknown"),
    [
        Authorization,
        Throttling,
        Connectivity,
        Configuration,
        Quota,
        Unknown
    ]
);
avro_enum!(
    ErrorSource,
    Some("Unknown"),
    [Crm, MailServer, SyncApplication, Unknown]
);
avro_enum!(
    ObjectType,
    Some("Other"),
    [
        Email,
        Event,
        Contact,
        Task,
        Lead,
        Account,
        Opportunity,
        Other
    ]
);
avro_enum!(Direction, None, [MailToCrm, CrmToMail]);
avro_enum!(
    MailSystem,
    Some("Other"),
    [Exchange, Office365, Gmail, Other]
);
avro_enum!(
    CrmSystem,
    Some("Other"),
    [Salesforce, Dynamics365, OracleCxSales, Other]
);
avro_enum!(Operation, None, [Create, Update, Delete]);
avro_enum!(LogLevel, None, [Trace, Debug, Info, Warn, Error]);
avro_enum!(ChangeKind, None, [Created, Updated, Deleted]);
avro_enum!(
    SyncSetting,
    None,
    [Enabled, DisabledByAdmin, Suspended, DisabledDueToError]
);
avro_enum!(ConflictResolution, None, [CrmWins, MailWins, LatestWins]);
avro_enum!(
    AdminAction,
    None,
    [
        Suspend,
        Disable,
        Enable,
        ForceSync,
        Pause,
        Resume,
        DeleteFromMonitor,
        UpdateCredentials
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    fn check<E: AvroEnum + std::fmt::Debug>() {
        assert_eq!(E::ALL.len(), E::SYMBOLS.len(), "{}", E::NAME);
        for (i, v) in E::ALL.iter().enumerate() {
            assert_eq!(v.index(), i, "{}", E::NAME);
            assert_eq!(format!("{v:?}"), E::SYMBOLS[i], "{}", E::NAME);
            assert_eq!(E::from_symbol(v.symbol()), Some(*v));
        }
        assert_eq!(E::from_index(E::ALL.len()), None);
    }

    #[test]
    fn symbols_follow_declaration_order() {
        check::<Trigger>();
        check::<SessionStatus>();
        check::<ErrorCategory>();
        check::<ErrorSource>();
        check::<ObjectType>();
        check::<Direction>();
        check::<MailSystem>();
        check::<CrmSystem>();
        check::<Operation>();
        check::<LogLevel>();
        check::<ChangeKind>();
        check::<SyncSetting>();
        check::<ConflictResolution>();
        check::<AdminAction>();
    }
}
