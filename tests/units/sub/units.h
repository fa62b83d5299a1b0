/* Not used: the lab provides its own units.h. */
#define UNITS_PROVIDED 7
