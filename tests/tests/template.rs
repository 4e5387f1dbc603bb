//! Each function of template.yaml is given exactly the environment variables its code
//! declares and reads (`<function>::VARIABLES`, read through `Config::read` or
//! `DrainConfig`): none missing, so it starts; none extra, so nothing is configured that
//! no code reads. The Runtime API tests (`functions/*/tests/lambda.rs`) then run each
//! binary with that environment and nothing more.

use std::collections::BTreeSet;

use steller::config::{Config, DrainConfig};
use steller::schema::{EnvValue, functions};

/// Every binary `sam build` builds, with the variables its crate declares.
const DECLARED: [(&str, &[&str]); 8] = [
    ("admin", admin::VARIABLES),
    ("analytics", analytics::VARIABLES),
    ("catalog", catalog::VARIABLES),
    ("orders", orders::VARIABLES),
    ("signup", signup::VARIABLES),
    ("top-ups", top_ups::VARIABLES),
    ("usage", usage::VARIABLES),
    ("wallet", wallet::VARIABLES),
];

#[test]
fn every_function_gets_exactly_the_variables_its_config_reads() {
    let functions = functions().expect("template.yaml's functions");
    let binaries: BTreeSet<&str> = functions.iter().map(|function| function.binary.as_str()).collect();
    assert_eq!(binaries, DECLARED.iter().map(|(binary, _)| *binary).collect(), "one function per binary");
    for function in &functions {
        let (_, declared) = DECLARED.iter().find(|(binary, _)| *binary == function.binary).expect("declared");
        let given: BTreeSet<&str> = function.environment.keys().map(String::as_str).collect();
        let read: BTreeSet<&str> = declared.iter().copied().collect();
        assert_eq!(
            given, read,
            "{} ({}): template.yaml's variables vs the code's",
            function.logical_id, function.binary
        );
        assert_eq!(read.len(), declared.len(), "{} declares a variable twice", function.binary);
    }
}

#[test]
fn every_declared_variable_is_one_the_config_knows() {
    let known: BTreeSet<&str> = Config::VARIABLES.iter().chain(&DrainConfig::VARIABLES).copied().collect();
    for (binary, declared) in DECLARED {
        for name in declared {
            assert!(known.contains(name), "{binary} declares {name}, which no configuration reads");
        }
    }
}

#[test]
fn every_variable_is_a_reference_to_the_stacks_own_resources_or_parameters() {
    let template: serde_norway::Value = serde_norway::from_str(steller::schema::TEMPLATE).expect("parses");
    let defined = |id: &str| template["Resources"].get(id).is_some() || template["Parameters"].get(id).is_some();
    for function in functions().expect("template.yaml's functions") {
        for (name, value) in &function.environment {
            match value {
                EnvValue::Ref(id) => {
                    assert!(defined(id), "{}'s {name} refers to {id}, not in the template", function.logical_id)
                }
                EnvValue::Text(text) => panic!(
                    "{}'s {name} is the literal {text:?}: deploy-time values come from parameters",
                    function.logical_id
                ),
            }
        }
    }
}

#[test]
fn functions_share_no_environment_through_globals() {
    let template: serde_norway::Value = serde_norway::from_str(steller::schema::TEMPLATE).expect("parses");
    assert!(
        template["Globals"]["Function"].get("Environment").is_none(),
        "a variable in Globals reaches every function, whether or not it reads it"
    );
}
