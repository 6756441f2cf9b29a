//! Cedar's own Rust authorizer for the Node runtime, as an N-API addon.
//!
//! It mirrors the stateful calls of `@cedar-policy/cedar-wasm` (`preparseSchema`,
//! `preparsePolicySet`, `statefulIsAuthorized`) with the same Cedar release, the same parsing
//! (the `cedar_policy::ffi` types) and the same answer JSON, so `runtime/authz/cedar-engine.ts`
//! can use either. What it saves is the crossing: cedar-wasm converts every JS object of a
//! request (entities, context) property by property into Rust values and clones the
//! pre-parsed schema and policy set on each call; here a request is two JSON strings, the
//! entities string is the one the caller keeps for an entity slice, and the pre-parsed sets
//! are shared, not cloned.
//!
//! Like cedar-wasm's cache, the pre-parsed sets are per thread: a Node worker thread that
//! loads the addon has its own.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use cedar_policy::ffi::{self, AuthorizationAnswer, DetailedError};
use cedar_policy::{Authorizer, Entities, PolicySet, Request, Schema, SchemaFragment};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::Deserialize;

thread_local! {
    static SCHEMAS: RefCell<HashMap<String, Rc<Schema>>> = RefCell::new(HashMap::new());
    static POLICY_SETS: RefCell<HashMap<String, Rc<PolicySet>>> = RefCell::new(HashMap::new());
    static AUTHORIZER: Authorizer = Authorizer::new();
    static ENTITIES: RefCell<EntityCache> = RefCell::new(EntityCache::default());
}

/// How many parsed entity slices a thread keeps (oldest out first).
const ENTITY_CACHE_SIZE: usize = 4096;

/// Parsed entity slices by (schema name, JSON text). Parsing entities against a schema also
/// builds every action entity the schema declares, which is most of a call's cost when done
/// per call; the same slice text under the same schema always parses to the same entities,
/// so it is parsed once. Only successful parses are kept.
#[derive(Default)]
struct EntityCache {
    /// schema name → slice JSON → entities
    parsed: HashMap<Option<String>, HashMap<String, Rc<Entities>>>,
    order: VecDeque<(Option<String>, String)>,
}

impl EntityCache {
    fn get(&self, schema_name: &Option<String>, json: &str) -> Option<Rc<Entities>> {
        self.parsed.get(schema_name)?.get(json).cloned()
    }

    fn insert(&mut self, schema_name: Option<String>, json: String, entities: Rc<Entities>) {
        if self.order.len() >= ENTITY_CACHE_SIZE {
            if let Some((schema, oldest)) = self.order.pop_front() {
                if let Some(slices) = self.parsed.get_mut(&schema) {
                    slices.remove(&oldest);
                }
            }
        }
        let slices = self.parsed.entry(schema_name.clone()).or_default();
        if slices.insert(json.clone(), entities).is_none() {
            self.order.push_back((schema_name, json));
        }
    }
}

/// `{"type":"success"}` or `{"type":"failure","errors":[...]}`, as cedar-wasm's CheckParseAnswer.
fn check_parse_answer(errors: Vec<miette::Report>) -> String {
    if errors.is_empty() {
        return r#"{"type":"success"}"#.to_string();
    }
    let errors: Vec<DetailedError> = errors.into_iter().map(Into::into).collect();
    serde_json::json!({ "type": "failure", "errors": errors }).to_string()
}

fn failure(errors: Vec<miette::Report>) -> String {
    let answer = AuthorizationAnswer::Failure { errors: errors.into_iter().map(Into::into).collect(), warnings: vec![] };
    serde_json::to_string(&answer).unwrap_or_else(|e| format!(r#"{{"type":"failure","errors":[{{"message":"answer did not serialize: {e}"}}],"warnings":[]}}"#))
}

/// Parse a schema in the Cedar format (or JSON, when it starts with `{`) and keep it as `name`.
#[napi]
pub fn preparse_schema(name: String, schema: String) -> String {
    let parsed = if schema.trim_start().starts_with('{') {
        Schema::from_json_str(&schema).map_err(miette::Report::new)
    } else {
        SchemaFragment::from_cedarschema_str(&schema)
            .map_err(miette::Report::new)
            .and_then(|(fragment, _warnings)| Schema::from_schema_fragments([fragment]).map_err(miette::Report::new))
    };
    match parsed {
        Ok(schema) => {
            // Entities parsed against a schema of this name before are parsed again.
            ENTITIES.with(|c| c.borrow_mut().parsed.remove(&Some(name.clone())));
            SCHEMAS.with(|s| s.borrow_mut().insert(name, Rc::new(schema)));
            check_parse_answer(vec![])
        }
        Err(err) => check_parse_answer(vec![err.wrap_err("failed to parse schema")]),
    }
}

/// Parse a policy set given as cedar-wasm's `PolicySet` JSON (`{"staticPolicies":{id: text}}`)
/// and keep it as `id` (replacing a set of that id).
#[napi]
pub fn preparse_policy_set(id: String, policies_json: String) -> String {
    let policies: ffi::PolicySet = match serde_json::from_str(&policies_json) {
        Ok(p) => p,
        Err(e) => return check_parse_answer(vec![miette::miette!("policy set is not valid JSON: {e}")]),
    };
    match policies.parse() {
        Ok(set) => {
            POLICY_SETS.with(|s| s.borrow_mut().insert(id, Rc::new(set)));
            check_parse_answer(vec![])
        }
        Err(errors) => check_parse_answer(errors),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Call {
    principal: ffi::EntityUid,
    action: ffi::EntityUid,
    resource: ffi::EntityUid,
    context: ffi::Context,
}

/// cedar-wasm's `statefulIsAuthorized`: `request_json` is `{principal, action, resource,
/// context}`, `entities_json` an entity array; the answer is cedar-wasm's AuthorizationAnswer JSON.
#[napi]
pub fn is_authorized(policy_set_id: String, schema_name: Option<String>, validate_request: bool, request_json: String, entities_json: String) -> Result<String> {
    let mut errors: Vec<miette::Report> = vec![];
    let schema = match &schema_name {
        None => None,
        Some(name) => match SCHEMAS.with(|s| s.borrow().get(name).cloned()) {
            Some(schema) => Some(schema),
            None => return Ok(failure(vec![miette::miette!("preparsed schema '{name}' not found")])),
        },
    };
    let Some(policies) = POLICY_SETS.with(|s| s.borrow().get(&policy_set_id).cloned()) else {
        return Ok(failure(vec![miette::miette!("preparsed policy set '{policy_set_id}' not found")]));
    };
    let call: Call = match serde_json::from_str(&request_json) {
        Ok(call) => call,
        Err(e) => return Ok(failure(vec![miette::miette!("request is not valid JSON: {e}")])),
    };
    let principal = call.principal.parse(Some("principal")).map_err(|e| errors.push(e));
    let action = call.action.parse(Some("action")).map_err(|e| errors.push(e));
    let resource = call.resource.parse(Some("resource")).map_err(|e| errors.push(e));
    let (Ok(principal), Ok(action), Ok(resource)) = (principal, action, resource) else {
        return Ok(failure(errors));
    };
    let context = match call.context.parse(schema.as_deref(), Some(&action)) {
        Ok(context) => context,
        Err(e) => return Ok(failure(vec![e])),
    };
    let request = Request::new(principal, action, resource, context, if validate_request { schema.as_deref() } else { None })
        .map_err(|e| errors.push(e.into()));
    let entities = match ENTITIES.with(|c| c.borrow().get(&schema_name, &entities_json)) {
        Some(entities) => Ok(entities),
        None => match serde_json::from_str::<ffi::Entities>(&entities_json) {
            Ok(parsed) => match parsed.parse(schema.as_deref()) {
                Ok(entities) => {
                    let entities = Rc::new(entities);
                    ENTITIES.with(|c| c.borrow_mut().insert(schema_name.clone(), entities_json, entities.clone()));
                    Ok(entities)
                }
                Err(e) => {
                    errors.push(e);
                    Err(())
                }
            },
            Err(e) => {
                errors.push(miette::miette!("entities are not valid JSON: {e}"));
                Err(())
            }
        },
    };
    let (Ok(request), Ok(entities)) = (request, entities) else {
        return Ok(failure(errors));
    };
    let response = AUTHORIZER.with(|a| a.is_authorized(&request, &policies, &entities));
    let answer = AuthorizationAnswer::Success { response: response.into(), warnings: vec![] };
    serde_json::to_string(&answer).map_err(|e| Error::from_reason(format!("answer did not serialize: {e}")))
}

/// The Cedar release this addon was built with (cedar-wasm's getCedarVersion).
#[napi]
pub fn cedar_version() -> String {
    cedar_policy::get_sdk_version().to_string()
}
