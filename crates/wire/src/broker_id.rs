//! A broker's id within its broker set (`brokerId`), as REGISTER_BROKER, the route data
//! (`BrokerData.brokerAddrs`: id → address) and PULL_MESSAGE's `suggestWhichBrokerId` carry it:
//! the master is [`MASTER_ID`], slaves number themselves from 1. A 5.x broker set without a
//! master may show its lowest slave id as [`MASTER_ID`] ("acting master").

/// Java's `MixAll.MASTER_ID`.
pub const MASTER_ID: i64 = 0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_is_javas_id_zero() {
        assert_eq!(MASTER_ID, 0);
    }
}
