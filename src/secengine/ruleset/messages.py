"""Every text the rule loader can print, kept in one table.

Falco's users grep and script against these strings (``falco -V`` output,
``LOAD_*`` codes in JSON), so they are copied byte for byte from Falco's
``falco_load_result.cpp``, ``rule_loading_messages.h`` and the rule loader
sources. Keeping them as data, and not scattered through the code, lets the
tests iterate over the table: every message id has a test that triggers it.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "MESSAGES",
    "YAML_CPP_PROBLEMS",
    "DeprecatedField",
    "ErrorCode",
    "ItemType",
    "WarningCode",
    "msg",
]


class _Code(enum.Enum):
    """A load result code whose value is (short text, long description)."""

    @property
    def short(self) -> str:
        text: str = self.value[0]
        return text

    @property
    def desc(self) -> str:
        """The long description. Falco's JSON prints :attr:`short` for an error's instead
        (an upstream bug)."""
        text: str = self.value[1]
        return text


class ErrorCode(_Code):
    """Falco's ``load_result::error_code``: value is (short text, long description)."""

    LOAD_ERR_FILE_READ = (
        "File read error",
        (
            "This occurs when falco can not read a given file. Check permissions and whether the "
            "file exists."
        ),
    )
    LOAD_ERR_YAML_PARSE = (
        "YAML parse error",
        "This occurs when the rules content is not valid YAML.",
    )
    LOAD_ERR_YAML_VALIDATE = (
        "Error validating internal structure of YAML file",
        (
            "This occurs when the internal structure of the YAML file is incorrect. Examples "
            "include not consisting of a sequence of maps, a given rule/macro/list item not having "
            "required keys, values not having the right type (e.g. the items property of a list "
            "not being a sequence), etc."
        ),
    )
    LOAD_ERR_COMPILE_CONDITION = (
        "Error compiling condition",
        "This occurs when a condition string can not be compiled to a filter object.",
    )
    LOAD_ERR_COMPILE_OUTPUT = (
        "Error compiling output",
        "This occurs when an output string can not be compiled to an output object.",
    )
    LOAD_ERR_VALIDATE = (
        "Error validating rule/macro/list/exception objects",
        (
            "This occurs when a rule/macro/list item is incorrect. Examples include a condition "
            "field referring to an undefined macro, falco engine/plugin version mismatches, items "
            "with append without any existing item, exception fields/comps having different "
            "lengths, etc."
        ),
    )
    LOAD_ERR_EXTENSION = (
        "Error in extension item",
        "This occurs when there is an error in an extension item",
    )


class WarningCode(_Code):
    """Falco's ``load_result::warning_code``, in Falco's order."""

    LOAD_UNKNOWN_SOURCE = (
        "Unknown event source",
        (
            "A rule has a unknown event source. This can occur when reading rules content without "
            "having a corresponding plugin loaded, etc. The rule will be silently ignored."
        ),
    )
    LOAD_UNSAFE_NA_CHECK = (
        "Unsafe <NA> comparison in condition",
        (
            "Comparing a field value with <NA> is unsafe and can lead to unpredictable behavior of "
            "the rule condition. If you need to check for the existence of a field, consider using "
            "the 'exists' operator instead."
        ),
    )
    LOAD_NO_EVTTYPE = (
        "Condition has no event-type restriction",
        (
            "A rule condition matches too many evt.type values. This has a significant performance "
            "penalty. Make the condition more specific by adding an evt.type field or further "
            "restricting the number of evt.type values in the condition."
        ),
    )
    LOAD_UNKNOWN_FILTER = (
        "Unknown field or event-type in condition or output",
        (
            "A rule condition or output refers to a field or evt.type that does not exist. This is "
            "normally an error, but if a rule has a skip-if-unknown-filter property, the error is "
            "downgraded to a warning."
        ),
    )
    LOAD_UNUSED_MACRO = (
        "Unused macro",
        "A macro is defined in the rules content but is not used by any other macro or rule.",
    )
    LOAD_UNUSED_LIST = (
        "Unused list",
        (
            "A list is defined in the rules content but is not used by any other list, macro, or "
            "rule."
        ),
    )
    LOAD_UNKNOWN_ITEM = (
        "Unknown rules file item",
        "An unknown top-level object is in the rules content. It will be ignored.",
    )
    LOAD_DEPRECATED_ITEM = (
        "Used deprecated item",
        "A deprecated item is employed by lists, macros, or rules.",
    )
    LOAD_WARNING_EXTENSION = (
        "Warning in extension item",
        "An extension item has a warning",
    )
    LOAD_APPEND_NO_VALUES = (
        "Overriding/appending with no values",
        "A rule exception is overriding/appending with no values",
    )
    LOAD_EXCEPTION_NAME_NOT_UNIQUE = (
        "Multiple exceptions defined with the same name",
        "A rule is defining multiple exceptions with the same name",
    )
    LOAD_INVALID_MACRO_NAME = (
        "Invalid macro name",
        "A macro is defined with an invalid name",
    )
    LOAD_INVALID_LIST_NAME = (
        "Invalid list name",
        "A list is defined with an invalid name",
    )
    LOAD_COMPILE_CONDITION = (
        "Warning in rule condition",
        "A rule condition or output have been parsed with a warning",
    )
    LOAD_UNKNOWN_KEY = (
        "Unknown key in item definition",
        (
            "An item in the rules content contains an unrecognized key. The key will be ignored. "
            "This may indicate a typo or a property placed on the wrong item type."
        ),
    )


_LATENCY_DESC = "field is not available due to the drop of enter events."


class DeprecatedField(enum.Enum):
    """Fields Falco warns about (``load_result::deprecated_field``): value is (name, desc)."""

    EVT_DIR = (
        "evt.dir",
        (
            "due to the drop of enter events, 'evt.dir = <' always evaluates to true, and "
            "'evt.dir = >' always evaluates to false. The rule expression can be simplified by "
            "removing the condition on 'evt.dir'"
        ),
    )
    EVT_LATENCY = ("evt.latency", _LATENCY_DESC)
    EVT_LATENCY_S = ("evt.latency.s", _LATENCY_DESC)
    EVT_LATENCY_NS = ("evt.latency.ns", _LATENCY_DESC)
    EVT_LATENCY_HUMAN = ("evt.latency.human", _LATENCY_DESC)
    EVT_WAIT_LATENCY = ("evt.wait_latency", _LATENCY_DESC)

    @property
    def field_name(self) -> str:
        return self.value[0]

    @property
    def desc(self) -> str:
        return self.value[1]

    @classmethod
    def from_field(cls, name: str) -> DeprecatedField | None:
        for df in cls:
            if df.field_name == name:
                return df
        return None


class ItemType(enum.Enum):
    """Falco's ``rule_loader::context::item_type``; the value is the printed text."""

    VALUE_FOR = "value for"
    EXCEPTIONS = "exceptions"
    EXCEPTION = "exception"
    EXCEPTION_VALUES = "exception values"
    EXCEPTION_VALUE = "exception value"
    RULES_CONTENT = "rules content"
    RULES_CONTENT_ITEM = "rules content item"
    REQUIRED_ENGINE_VERSION = "required_engine_version"
    REQUIRED_PLUGIN_VERSIONS = "required plugin versions"
    REQUIRED_PLUGIN_VERSIONS_ENTRY = "required plugin versions entry"
    REQUIRED_PLUGIN_VERSIONS_ALTERNATIVE = "required plugin versions alternative"
    LIST = "list"
    LIST_ITEM = "list item"
    MACRO = "macro"
    MACRO_CONDITION = "macro condition"
    RULE = "rule"
    RULE_CONDITION = "rule condition"
    CONDITION_EXPRESSION = "condition expression"
    RULE_OUTPUT = "rule output"
    RULE_OUTPUT_EXPRESSION = "rule output expression"
    RULE_PRIORITY = "rule priority"
    OVERRIDE = "overrides"
    EXTENSION_ITEM = "extension item"


_RGX_IDENTIFIER = "([a-zA-Z]+[a-zA-Z0-9_]*)"
_RGX_BARESTR = "([^()\"'[:space:]=,]+)"

#: Message templates by id. Placeholders use ``str.format`` names.
MESSAGES: dict[str, str] = {
    # -- reader: document shape ------------------------------------------------
    "not_yaml": "Rules content is not yaml",
    "not_array": "Rules content is not yaml array of objects",
    "item_not_map": "Unexpected element type. Each element should be a yaml associative array.",
    "unknown_item": "Unknown top level item",
    "unknown_key": "Unknown key '{key}'. The key will be ignored.",
    # -- reader: value decoding ----------------------------------------------
    "no_mapping": "Item has no mapping for key '{key}'",
    "mapping_empty": "Mapping for key '{key}' is empty",
    "not_scalar": "Value is not a scalar value",
    "must_be_non_empty": "Value must be non-empty",
    "cant_decode": "Can't decode YAML scalar value",
    "not_sequence": "Value is not a sequence",
    "seq_value_not_scalar": "sequence value is not scalar",
    # -- reader: versions --------------------------------------------------------
    "engine_version_semver": (
        "Unable to parse engine version '{version}' as a semver string. "
        'Expected "x.y.z" semver format.'
    ),
    "plugin_versions_not_seq": "Value of required_plugin_versions must be a sequence",
    "plugin_version_not_map": "Plugin version must be a mapping",
    "plugin_alternatives_not_seq": "Value of plugin version alternatives must be a sequence",
    "plugin_alternative_not_map": "Plugin version alternative must be a mapping",
    # -- reader: names -------------------------------------------------------------
    "invalid_list_name": (
        "List has an invalid name. List names should match a regular expression: " + _RGX_BARESTR
    ),
    "invalid_macro_name": (
        "Macro has an invalid name. Macro names should match a regular "
        "expression: " + _RGX_IDENTIFIER
    ),
    # -- reader: deprecations and overrides ----------------------------------------
    "warning_append": (
        "'append' key is deprecated. Add an 'append' entry (e.g. 'condition: "
        "append') under 'override' instead."
    ),
    "warning_enabled": (
        "The standalone 'enabled' key usage is deprecated. The correct approach "
        "requires also a 'replace' entry under the 'override' key (i.e. "
        "'enabled: replace')."
    ),
    "override_append": (
        "Keys 'override' and 'append: true' cannot be used together. Add an "
        "'append' entry (e.g. 'condition: append') under 'override' instead."
    ),
    "cannot_append_key": "Key '{key}' cannot be appended to, use 'replace' instead",
    "cannot_replace_key": "Key '{key}' cannot be replaced",
    "invalid_override_op": (
        "Invalid override operation for key '{key}': '{op}'. Allowed values are: {allowed}"
    ),
    "override_key_undefined": (
        "An {op} override for '{key}' was specified but '{key}' is not defined"
    ),
    "unexpected_key": "Unexpected key '{key}': no corresponding entry under 'override' is defined.",
    "invalid_priority": "Invalid priority",
    # -- reader: exceptions ----------------------------------------------------------
    "exceptions_not_seq": "Rule exceptions must be a sequence",
    "exception_not_map": "Rule exception must be a mapping",
    "exception_values_not_seq": "Rule exception values must be a sequence",
    "exception_name_not_unique": "Multiple definitions of exception '{name}' in the same rule",
    "append_no_values": "Overriding/appending exception with no values",
    # -- collector -----------------------------------------------------------------------
    "engine_version_mismatch": (
        "Rules require engine version {required}, but engine version is {engine}"
    ),
    "invalid_plugin_version": "Invalid required version '{version}' for plugin '{name}'",
    "duplicate_plugin_alternative": (
        "Defined multiple alternative version requirements for plugin '{name}'"
    ),
    "no_previous_list": (
        "List uses 'append' or 'override.items: append' but no list by that name already exists"
    ),
    "no_previous_macro": (
        "Macro uses 'append' or 'override.condition: append' but no macro by "
        "that name already exists"
    ),
    "no_previous_rule_append": (
        "Rule uses 'append' or 'override.<key>: append' but no rule by that name already exists"
    ),
    "no_previous_rule_replace": (
        "An 'override.<key>: replace' to a rule was requested but no "
        "rule by that name already exists"
    ),
    "append_needs_value": "Appended rule must have exceptions or condition property",
    "unknown_source": "Unknown source {source}, skipping",
    "redefined_source": "Rule has been re-defined with a different source",
    "enabled_no_rule": "Rule has 'enabled' key but no rule by that name already exists",
    "exception_no_fields": "Rule exception item must have fields property with a list of fields",
    "exception_new_no_fields": "Rule exception must have fields property with a list of fields",
    "exception_new_no_values": "Rule exception must have values property with a list of values",
    "exception_append_fields": (
        "Can not append exception fields to existing exception, only values"
    ),
    "exception_append_comps": ("Can not append exception comps to existing exception, only values"),
    "fields_comps_len": "Fields and comps lists must have equal length",
    "unsupported_comp": "'{comp}' is not a supported comparison operator",
    "unsupported_field": "'{field}' is not a supported filter field",
    "fields_comps_strings": "Fields and comps must both be strings",
    "single_field_comp": (
        "When fields is a single value, comps must be one of (in, pmatch, "
        "intersects) or a modifier operator (e.g. startswith oneof)"
    ),
    # -- compiler --------------------------------------------------------------------------
    "values_not_strings": "Expected values array to contain a list of strings",
    "fields_values_len": "Fields and values lists must have equal length",
    "undefined_macro": "Undefined macro '{name}' used in filter.",
    # -- limits on expansion (ours, not Falco's: docs/rules-loading.md) ----------------------
    "list_expansion_too_long": (
        "expanding list '{name}' makes the {which} longer than {limit} characters"
    ),
    "expansion_too_large": (
        "macro expansion makes the {which} {nodes} nodes, more than the limit of {limit}"
    ),
    "expansion_too_deep": "macro expansion nests the condition deeper than {limit} levels",
    "container_info": (
        "%container.info is deprecated and no more useful, and will be dropped "
        "by Falco 1.0.0. The container plugin will automatically add required "
        "fields to the output message."
    ),
    "deprecated_output_field": (
        "usage of deprecated field '{field}' has been detected in the rule output"
    ),
    "no_evttype": (
        "Rule matches too many evt.type values. This has a significant performance penalty."
    ),
    "unused_macro": "Macro not referred to by any other rule/macro",
    "unused_list": "List not referred to by any other rule/macro",
    # -- secengine_response (ours, not Falco's: docs/response.md) -------------------------
    "response_not_map": "secengine_response must be a mapping with an 'actions' list",
    "response_no_actions": "secengine_response has no 'actions' list",
    "response_unknown_key": (
        "Unknown key '{key}' in secengine_response{hint}; known keys: {allowed}"
    ),
    "response_repeated_key": "Key '{key}' appears twice",
    "response_not_scalar": "Value must be a non-empty scalar",
    "response_not_bool": "'{key}' must be true or false",
    "response_bad_choice": "'{key}' is '{value}'{hint}; it must be one of: {choices}",
    "response_actions_not_seq": "'actions' must be a non-empty sequence of actions",
    "response_bad_action": ("An action is its name, or a mapping of its name to its parameters"),
    "response_unknown_action": "Unknown action '{action}'{hint}; actions are: {choices}",
    "response_params_not_map": "The parameters of action '{action}' must be a mapping",
    "response_unknown_param": "Unknown parameter '{key}'{hint}; this action takes: {allowed}",
    "response_missing_param": "Action '{action}' needs the parameter '{param}'",
    "response_repeated_action": "Action '{action}' is asked for twice",
    "response_stop_and_kill": "A rule may ask for stop_container or kill_container, not both",
    "response_bad_timeout": "'timeout' must be a positive number of seconds, at most {limit}",
    "response_bad_tag": (
        "Tag name '{name}' must be 1-63 letters, digits and _.:/- starting with a letter or digit"
    ),
    "response_source_lacks": (
        "Action '{action}' needs the field '{field}', which source '{source}' does not have"
    ),
    # -- files and plugins -----------------------------------------------------------------
    "file_read": "Could not open file {name} for reading",
    "yaml_cpp_error": "yaml-cpp: error at line {line}, column {column}: {problem}",
    "yaml_limits": "{problem}",
    "bad_conversion": "bad conversion",
    "plugin_requirement": "Plugin requirement not satisfied, must load one of: {alternatives}",
    "plugin_incompatible": (
        "Plugin '{name}' version '{version}' is not compatible with "
        "required plugin version '{required}'"
    ),
}


def msg(message_id: str, **kwargs: Any) -> str:
    """Render the message ``message_id`` of :data:`MESSAGES` with its placeholders."""
    return MESSAGES[message_id].format(**kwargs)


#: ruamel.yaml's scanner/parser problems → yaml-cpp's wording (``ErrorMsg`` in
#: yaml-cpp's ``exceptions.h``). Matched by substring; the first hit wins. A
#: problem not listed keeps ruamel's text.
YAML_CPP_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("mapping values are not allowed", "illegal map value"),
    ("could not find expected ':'", "illegal map value"),
    ("found unexpected end of stream", "illegal EOF in scalar"),
    ("found unknown escape character", "unknown escape character: "),
    ("found undefined alias", "the referenced anchor is not defined: "),
    ("found duplicate anchor", "cannot assign the same alias to multiple nodes"),
    (
        "found character '\\t' that cannot start any token",
        "illegal tab when looking for indentation",
    ),
    ("found character", "unknown token"),
    ("expected ',' or ']'", "end of sequence flow not found"),
    ("expected ',' or '}'", "end of map flow not found"),
    ("expected <block end>, but found '-'", "illegal block entry"),
    ("expected <block end>, but found '<block sequence start>'", "end of map not found"),
    ("expected <block end>", "end of map not found"),
    ("block sequence entries are not allowed", "illegal block entry"),
    ("expected alphabetic or numeric character", "illegal character found while scanning alias"),
    ("did not find expected key", "end of map not found"),
    ("did not find expected '-' indicator", "end of sequence not found"),
    ("expected the node content", "unknown token"),
    ("expected a single document", "unexpected token after end of document"),
)
