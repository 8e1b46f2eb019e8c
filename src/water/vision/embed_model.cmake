# Writes OUT, a C++ source holding the bytes of IN as NAME (default kDigitsModelYaml) and NAMESize
# (cmake -P, at build time).
if(NOT NAME)
  set(NAME kDigitsModelYaml)
endif()
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR size "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){32})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "// Generated from ${IN}; do not edit.\nnamespace mh::water::vision {\nextern const char ${NAME}[];\nextern const unsigned long ${NAME}Size;\nconst char ${NAME}[] = {\n${bytes}0};\nconst unsigned long ${NAME}Size = ${size};\n}  // namespace mh::water::vision\n")
