use super::*;
use crate::core::messages::Msg;
use crate::core::val::json;

#[test]
fn each_check_returns_the_value_or_names_the_field_and_the_expectation() {
    assert_eq!(boolean(&json(r#""off""#), "config.spa"), Ok(false));
    assert_eq!(boolean(&json("true"), "config.spa"), Ok(true));
    let e = boolean(&json("3"), "config.spa").unwrap_err();
    assert_eq!(e.message(), "goaltag: config.spa: expected true or false (\"on\"/\"off\" in an attribute), got 3");

    assert_eq!(number_in(&json("2.5"), "x", "minutes", 1, 1440, false), Ok(2.5));
    let e = number_in(&json("2.5"), "consent.wait_for_update", "milliseconds", 0, 60000, true).unwrap_err();
    assert_eq!(e.message(), "goaltag: consent.wait_for_update: expected a whole number of milliseconds from 0 to 60000, got 2.5");
    assert!(number_in(&json(r#""5""#), "x", "days", 1, 365, true).is_err(), "a string is no number");
    assert!(number_in(&json("366"), "x", "days", 1, 365, true).is_err());

    let e = object(&json("[]"), "delivery", Msg::DeliveryObject).unwrap_err();
    assert_eq!(e.message(), "goaltag: delivery: expected an object like {max_events: 500, base_ms: 500}, got a list");
    assert_eq!(unknown("config.colector", Msg::ConfigFields).got, "an unknown field");
}
