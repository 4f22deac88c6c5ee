// Built-in serializers (raw, json, v8) and the serializer id helpers: implemented in this folder.
export {};
