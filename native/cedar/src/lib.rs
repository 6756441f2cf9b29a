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
use std::str::FromStr;

use cedar_policy::{Authorizer, Context, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Request, RestrictedExpression, Schema, SchemaFragment};
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
    principal: serde_json::Value,
    action: serde_json::Value,
    resource: serde_json::Value,
    context: serde_json::Value,
}

/// An entity uid written `{"type": T, "id": I}`, built directly (None: any other form).
fn plain_uid(v: &serde_json::Value) -> Option<EntityUid> {
    let o = v.as_object()?;
    if o.len() != 2 {
        return None;
    }
    let (t, id) = (o.get("type")?.as_str()?, o.get("id")?.as_str()?);
    Some(EntityUid::from_type_name_and_id(EntityTypeName::from_str(t).ok()?, EntityId::new(id)))
}

/// A context value of plain JSON — strings, bools, integers, arrays, objects with no `__`
/// key — built directly; None for anything Cedar's JSON format reads specially (escapes,
/// non-integer numbers, null), which then takes the ffi parser.
fn plain_value(v: &serde_json::Value) -> Option<RestrictedExpression> {
    use serde_json::Value::*;
    match v {
        Bool(b) => Some(RestrictedExpression::new_bool(*b)),
        Number(n) => n.as_i64().map(RestrictedExpression::new_long),
        String(s) => Some(RestrictedExpression::new_string(s.clone())),
        Array(items) => Some(RestrictedExpression::new_set(items.iter().map(plain_value).collect::<Option<Vec<_>>>()?)),
        Object(fields) => RestrictedExpression::new_record(plain_fields(fields)?).ok(),
        Null => None,
    }
}

fn plain_fields(fields: &serde_json::Map<String, serde_json::Value>) -> Option<Vec<(String, RestrictedExpression)>> {
    fields.iter().map(|(k, v)| if k.starts_with("__") { None } else { Some((k.clone(), plain_value(v)?)) }).collect()
}

/// The request built directly from plain JSON, when that is certain to be what Cedar's JSON
/// parser would build. Cedar's parser tries each form of a value in turn (an escape, an
/// entity, an extension call, a record) and formats an error for each miss, which is most of
/// a small request's cost. Without a schema, plain JSON means one thing. With a schema, the
/// parser also reads implicit forms by the declared type (an entity as `{type, id}`, an
/// extension value as a string): a value built as a record or string where the schema
/// declares an entity or extension type fails request validation, and only a request that
/// passes validation is taken; any other goes through the ffi parser, which gives Cedar's
/// own answer or error.
fn plain_request(call: &Call, schema: Option<&Schema>, validate_request: bool) -> Option<Request> {
    if schema.is_some() && !validate_request {
        return None;
    }
    let (principal, action, resource) = (plain_uid(&call.principal)?, plain_uid(&call.action)?, plain_uid(&call.resource)?);
    let context = Context::from_pairs(plain_fields(call.context.as_object()?)?).ok()?;
    Request::new(principal, action, resource, context, if validate_request { schema } else { None }).ok()
}

/// Cedar's ffi parsing of a request (StatefulAuthorizationCall::parse): its errors are cedar-wasm's.
fn ffi_request(call: Call, schema: Option<&Schema>, validate_request: bool, errors: &mut Vec<miette::Report>) -> Option<Request> {
    let principal = ffi::EntityUid::from(call.principal).parse(Some("principal")).map_err(|e| errors.push(e));
    let action = ffi::EntityUid::from(call.action).parse(Some("action")).map_err(|e| errors.push(e));
    let resource = ffi::EntityUid::from(call.resource).parse(Some("resource")).map_err(|e| errors.push(e));
    let (Ok(principal), Ok(action), Ok(resource)) = (principal, action, resource) else {
        return None;
    };
    let context = match ffi::Context::from(call.context).parse(schema, Some(&action)) {
        Ok(context) => context,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    Request::new(principal, action, resource, context, if validate_request { schema } else { None })
        .map_err(|e| errors.push(e.into()))
        .ok()
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
    let request = match plain_request(&call, schema.as_deref(), validate_request) {
        Some(request) => Some(request),
        None => ffi_request(call, schema.as_deref(), validate_request, &mut errors),
    };
    let entities = match ENTITIES.with(|c| c.borrow().get(&schema_name, &entities_json)) {
        Some(entities) => Some(entities),
        None => match serde_json::from_str::<ffi::Entities>(&entities_json) {
            Ok(parsed) => match parsed.parse(schema.as_deref()) {
                Ok(entities) => {
                    let entities = Rc::new(entities);
                    ENTITIES.with(|c| c.borrow_mut().insert(schema_name.clone(), entities_json, entities.clone()));
                    Some(entities)
                }
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            Err(e) => {
                errors.push(miette::miette!("entities are not valid JSON: {e}"));
                None
            }
        },
    };
    let (Some(request), Some(entities)) = (request, entities) else {
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
