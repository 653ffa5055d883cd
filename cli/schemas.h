#pragma once

// The JSON Schemas of specs/schema/, compiled into the binary (cli/embed_schemas.cmake) so
// `reconciler schema` can write them wherever a stack lives, byte for byte as in the source.

#include <string_view>
#include <vector>

namespace reconciler {

struct SchemaFile {
  std::string_view name;  // "resource", "project", "readonlyinstance", ...
  std::string_view file;  // "resource.schema.json"
  std::string_view text;  // the file's contents
};

// Every schema, sorted by file name.
const std::vector<SchemaFile>& EmbeddedSchemas();

}  // namespace reconciler
