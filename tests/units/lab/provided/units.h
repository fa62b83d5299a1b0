/* Given by the lab (build.provided): the build uses this copy, not the
 * submission's (tests/units/sub/units.h says otherwise, on purpose). */
#define UNITS_PROVIDED 42
