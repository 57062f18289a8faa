/* chars.c - the octet class table of chars.h, generated at compile time
 * from the RFC 3261 25.1 rules by a constant initializer. */
#include "chars.h"

#define TK SD_C_TOKEN
#define WD SD_C_WORD
#define US SD_C_USER
#define PA SD_C_PARAM
#define HV SD_C_HNV
#define HO SD_C_HOST
#define DG SD_C_DIGIT
#define HX SD_C_HEX
#define PW SD_C_PASSWD
#define UC SD_C_URIC
#define LW SD_C_LWS
#define CT SD_C_CTL
#define AL SD_C_ALPHA
#define SC SD_C_SCHEME

/* alphanum: token word user param hnv host passwd uric scheme */
#define ALNUM (TK | WD | US | PA | HV | HO | PW | UC | SC)
/* mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")" (unreserved minus alphanum) */
#define MARK (US | PA | HV | PW | UC)

const uint16_t sd_char_class[256] = {
    [0x00] = CT, [0x01] = CT, [0x02] = CT, [0x03] = CT, [0x04] = CT, [0x05] = CT,
    [0x06] = CT, [0x07] = CT, [0x08] = CT, [0x09] = LW, [0x0A] = CT | LW, [0x0B] = CT,
    [0x0C] = CT, [0x0D] = CT | LW, [0x0E] = CT, [0x0F] = CT, [0x10] = CT, [0x11] = CT,
    [0x12] = CT, [0x13] = CT, [0x14] = CT, [0x15] = CT, [0x16] = CT, [0x17] = CT,
    [0x18] = CT, [0x19] = CT, [0x1A] = CT, [0x1B] = CT, [0x1C] = CT, [0x1D] = CT,
    [0x1E] = CT, [0x1F] = CT, [0x7F] = CT,
    [' '] = LW,
    ['!'] = TK | WD | MARK,
    ['"'] = WD,
    ['#'] = UC,
    ['$'] = US | PA | HV | PW | UC,
    ['%'] = TK | WD | UC,
    ['&'] = US | PA | PW | UC,
    ['\''] = TK | WD | MARK,
    ['('] = WD | MARK,
    [')'] = WD | MARK,
    ['*'] = TK | WD | MARK,
    ['+'] = TK | WD | US | PA | HV | PW | UC | SC,
    [','] = US | PW | UC,
    ['-'] = TK | WD | MARK | HO | SC,
    ['.'] = TK | WD | MARK | HO | SC,
    ['/'] = WD | US | PA | HV | UC,
    [':'] = WD | PA | HV | UC,
    [';'] = US | UC,
    ['<'] = WD,
    ['='] = US | PW | UC,
    ['>'] = WD,
    ['?'] = WD | US | HV | UC,
    ['@'] = UC,
    ['['] = WD | PA | HV | UC,
    ['\\'] = WD,
    [']'] = WD | PA | HV | UC,
    ['_'] = TK | WD | MARK,
    ['`'] = TK | WD,
    ['{'] = WD,
    ['}'] = WD,
    ['~'] = TK | WD | MARK,
    ['0'] = ALNUM | DG | HX, ['1'] = ALNUM | DG | HX, ['2'] = ALNUM | DG | HX,
    ['3'] = ALNUM | DG | HX, ['4'] = ALNUM | DG | HX, ['5'] = ALNUM | DG | HX,
    ['6'] = ALNUM | DG | HX, ['7'] = ALNUM | DG | HX, ['8'] = ALNUM | DG | HX,
    ['9'] = ALNUM | DG | HX,
    ['A'] = ALNUM | AL | HX, ['B'] = ALNUM | AL | HX, ['C'] = ALNUM | AL | HX,
    ['D'] = ALNUM | AL | HX, ['E'] = ALNUM | AL | HX, ['F'] = ALNUM | AL | HX,
    ['G'] = ALNUM | AL, ['H'] = ALNUM | AL, ['I'] = ALNUM | AL, ['J'] = ALNUM | AL,
    ['K'] = ALNUM | AL, ['L'] = ALNUM | AL, ['M'] = ALNUM | AL, ['N'] = ALNUM | AL,
    ['O'] = ALNUM | AL, ['P'] = ALNUM | AL, ['Q'] = ALNUM | AL, ['R'] = ALNUM | AL,
    ['S'] = ALNUM | AL, ['T'] = ALNUM | AL, ['U'] = ALNUM | AL, ['V'] = ALNUM | AL,
    ['W'] = ALNUM | AL, ['X'] = ALNUM | AL, ['Y'] = ALNUM | AL, ['Z'] = ALNUM | AL,
    ['a'] = ALNUM | AL | HX, ['b'] = ALNUM | AL | HX, ['c'] = ALNUM | AL | HX,
    ['d'] = ALNUM | AL | HX, ['e'] = ALNUM | AL | HX, ['f'] = ALNUM | AL | HX,
    ['g'] = ALNUM | AL, ['h'] = ALNUM | AL, ['i'] = ALNUM | AL, ['j'] = ALNUM | AL,
    ['k'] = ALNUM | AL, ['l'] = ALNUM | AL, ['m'] = ALNUM | AL, ['n'] = ALNUM | AL,
    ['o'] = ALNUM | AL, ['p'] = ALNUM | AL, ['q'] = ALNUM | AL, ['r'] = ALNUM | AL,
    ['s'] = ALNUM | AL, ['t'] = ALNUM | AL, ['u'] = ALNUM | AL, ['v'] = ALNUM | AL,
    ['w'] = ALNUM | AL, ['x'] = ALNUM | AL, ['y'] = ALNUM | AL, ['z'] = ALNUM | AL,
};
