//! The functions of template.yaml: which binary each one runs and the environment it
//! is given. The tests hold each function's declared variables to this environment, and
//! run each binary with it under the Runtime API emulator, as Lambda would.

use std::collections::BTreeMap;

use serde_norway::Value;

use super::{SchemaError, TEMPLATE};

/// One `AWS::Serverless::Function` of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The cargo binary `sam build` builds for it (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// Its `Environment.Variables`, by name.
    pub environment: BTreeMap<String, EnvValue>,
    /// The routes of the HTTP API it answers (its `HttpApi` events): upper-case method
    /// and path template, sorted.
    pub http_routes: Vec<(String, String)>,
}

/// The value of one environment variable in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// `!Ref X`: a parameter's value, a table's name or a queue's URL, known once deployed.
    Ref(String),
    Text(String),
}

impl FunctionSpec {
    /// Its environment with every `!Ref` replaced by `resolve`'s answer, or an error naming
    /// the first reference `resolve` does not know.
    pub fn environment_with(&self, resolve: impl Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, String> {
        self.environment
            .iter()
            .map(|(name, value)| match value {
                EnvValue::Text(text) => Ok((name.clone(), text.clone())),
                EnvValue::Ref(target) => resolve(target)
                    .map(|value| (name.clone(), value))
                    .ok_or_else(|| format!("{} sets {name} to !Ref {target}, which is not known", self.logical_id)),
            })
            .collect()
    }
}

/// Every function of template.yaml, by logical id.
pub fn functions() -> Result<Vec<FunctionSpec>, SchemaError> {
    functions_in(TEMPLATE)
}

/// The function of template.yaml that runs `binary`.
pub fn function_running(binary: &str) -> Result<FunctionSpec, SchemaError> {
    functions()?
        .into_iter()
        .find(|function| function.binary == binary)
        .ok_or_else(|| SchemaError::Template(format!("no function runs the binary {binary}")))
}

fn functions_in(template: &str) -> Result<Vec<FunctionSpec>, SchemaError> {
    let template: Value = serde_norway::from_str(template).map_err(|e| SchemaError::Template(e.to_string()))?;
    let resources = template["Resources"].as_mapping().ok_or_else(|| missing("Resources"))?;
    let mut functions = Vec::new();
    for (id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let logical_id = id.as_str().ok_or_else(|| missing("a string logical id"))?.to_owned();
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| missing(&format!("{logical_id}'s Metadata.BuildProperties.Binary")))?
            .to_owned();
        let mut environment = BTreeMap::new();
        if let Some(variables) = resource["Properties"]["Environment"]["Variables"].as_mapping() {
            for (name, value) in variables {
                let name = name.as_str().ok_or_else(|| missing("a string variable name"))?.to_owned();
                let value = env_value(value)
                    .ok_or_else(|| SchemaError::Template(format!("{logical_id}'s {name} is neither text nor !Ref")))?;
                environment.insert(name, value);
            }
        }
        let mut http_routes = Vec::new();
        if let Some(events) = resource["Properties"]["Events"].as_mapping() {
            for event in events.values().filter(|event| event["Type"].as_str() == Some("HttpApi")) {
                let (Some(method), Some(path)) =
                    (event["Properties"]["Method"].as_str(), event["Properties"]["Path"].as_str())
                else {
                    return Err(missing(&format!("Method and Path on every HttpApi event of {logical_id}")));
                };
                http_routes.push((method.to_uppercase(), path.to_owned()));
            }
        }
        http_routes.sort();
        functions.push(FunctionSpec { logical_id, binary, environment, http_routes });
    }
    functions.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    Ok(functions)
}

fn missing(what: &str) -> SchemaError {
    SchemaError::Template(format!("template.yaml has no {what}"))
}

/// `!Ref X` or `{"Ref": X}`, or a plain string or number.
fn env_value(value: &Value) -> Option<EnvValue> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(|id| EnvValue::Ref(id.to_owned())),
        Value::Mapping(mapping) => mapping.get("Ref")?.as_str().map(|id| EnvValue::Ref(id.to_owned())),
        Value::String(text) => Some(EnvValue::Text(text.clone())),
        Value::Number(number) => Some(EnvValue::Text(number.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  ThingFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: thing } }
    Properties:
      Environment:
        Variables:
          STELLER_TABLE: !Ref DomainTable
          STELLER_QUEUE: { Ref: Queue }
          STELLER_LIMIT: 5
      Events:
        Read: { Type: HttpApi, Properties: { Method: get, Path: "/api/things/{id}" } }
        Drain: { Type: Schedule, Properties: { Schedule: rate(2 minutes) } }
  Quiet:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: quiet } }
  DomainTable:
    Type: AWS::DynamoDB::Table
"#;

    #[test]
    fn functions_are_read_with_their_binary_and_environment() {
        let functions = functions_in(TEMPLATE).expect("parses");
        let ids: Vec<&str> = functions.iter().map(|f| f.logical_id.as_str()).collect();
        assert_eq!(ids, ["Quiet", "ThingFunction"]);
        let thing = &functions[1];
        assert_eq!(thing.binary, "thing");
        assert_eq!(thing.environment["STELLER_TABLE"], EnvValue::Ref("DomainTable".into()));
        assert_eq!(thing.environment["STELLER_QUEUE"], EnvValue::Ref("Queue".into()));
        assert_eq!(thing.environment["STELLER_LIMIT"], EnvValue::Text("5".into()));
        assert!(functions[0].environment.is_empty());
        assert_eq!(thing.http_routes, [("GET".to_owned(), "/api/things/{id}".to_owned())], "HttpApi events only");
        assert!(functions[0].http_routes.is_empty());
    }

    #[test]
    fn references_resolve_or_are_named() {
        let thing = functions_in(TEMPLATE).expect("parses").remove(1);
        let resolved = thing.environment_with(|id| Some(format!("resolved-{id}"))).expect("every reference resolves");
        assert!(resolved.contains(&("STELLER_TABLE".into(), "resolved-DomainTable".into())), "{resolved:?}");
        assert!(resolved.contains(&("STELLER_LIMIT".into(), "5".into())));
        let error = thing.environment_with(|id| (id == "DomainTable").then(String::new)).expect_err("Queue is unknown");
        assert!(error.contains("!Ref Queue"), "{error}");
    }

    #[test]
    fn every_deployed_function_runs_a_binary() {
        let functions = functions().expect("template.yaml's functions");
        assert_eq!(functions.len(), 12, "{functions:?}");
        assert!(function_running("orders").is_ok_and(|f| f.logical_id == "OrdersFunction"));
        assert!(function_running("nope").is_err());
    }
}
