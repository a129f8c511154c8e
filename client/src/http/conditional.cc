#include "larder/http/conditional.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "larder/common/clock.h"
#include "larder/common/etag.h"

namespace larder::http {
namespace {

constexpr const char* kDayNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr const char* kLongDayNames[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

constexpr const char* kNotModifiedHeaders[] = {
    "ETag", "Cache-Control", "Vary", "Expires", "Content-Location", "Date", "Age", "Cache-Status",
};

bool Keeps(absl::string_view name, const std::vector<std::string>& also_keep) {
  for (const char* kept : kNotModifiedHeaders) {
    if (HeaderNameEquals(name, kept)) return true;
  }
  for (const std::string& kept : also_keep) {
    if (HeaderNameEquals(name, kept)) return true;
  }
  return false;
}

// The fields of an HTTP-date as written; `year` is -1 until known (RFC 850 gives two digits).
struct DateFields {
  int year = -1;
  int two_digit_year = -1;
  int month = 0;  // 1-12
  int day = 0;
  int hour = -1;
  int minute = -1;
  int second = -1;
};

// The value of the `width` ASCII digits at text[at...], or -1.
int Digits(absl::string_view text, size_t at, size_t width) {
  if (at + width > text.size()) return -1;
  int value = 0;
  for (size_t i = at; i < at + width; ++i) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

template <size_t N>
bool IsOneOf(absl::string_view word, const char* const (&names)[N]) {
  for (const char* name : names) {
    if (word == name) return true;
  }
  return false;
}

// 1-12 for a month name, 0 otherwise.
int MonthNumber(absl::string_view name) {
  for (int i = 0; i < 12; ++i) {
    if (name == kMonths[i]) return i + 1;
  }
  return 0;
}

// "HH:MM:SS" at text[at...].
bool ReadTimeOfDay(absl::string_view text, size_t at, DateFields& fields) {
  if (at + 8 > text.size() || text[at + 2] != ':' || text[at + 5] != ':') return false;
  fields.hour = Digits(text, at, 2);
  fields.minute = Digits(text, at + 3, 2);
  fields.second = Digits(text, at + 6, 2);
  return fields.hour >= 0 && fields.minute >= 0 && fields.second >= 0;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
bool ReadImfFixdate(absl::string_view text, DateFields& fields) {
  if (text.size() != 29 || !IsOneOf(text.substr(0, 3), kDayNames) || text.substr(3, 2) != ", " ||
      text[7] != ' ' || text[11] != ' ' || text[16] != ' ' || text.substr(25) != " GMT") {
    return false;
  }
  fields.day = Digits(text, 5, 2);
  fields.month = MonthNumber(text.substr(8, 3));
  fields.year = Digits(text, 12, 4);
  return ReadTimeOfDay(text, 17, fields);
}

// RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT".
bool ReadRfc850Date(absl::string_view text, DateFields& fields) {
  const size_t comma = text.find(',');
  if (comma == absl::string_view::npos || !IsOneOf(text.substr(0, comma), kLongDayNames)) {
    return false;
  }
  const absl::string_view rest = text.substr(comma);
  if (rest.size() != 24 || rest[1] != ' ' || rest[4] != '-' || rest[8] != '-' || rest[11] != ' ' ||
      rest.substr(20) != " GMT") {
    return false;
  }
  fields.day = Digits(rest, 2, 2);
  fields.month = MonthNumber(rest.substr(5, 3));
  fields.two_digit_year = Digits(rest, 9, 2);
  return fields.two_digit_year >= 0 && ReadTimeOfDay(rest, 12, fields);
}

// asctime: "Sun Nov  6 08:49:37 1994" (the day as two digits, or a space and one digit).
bool ReadAsctimeDate(absl::string_view text, DateFields& fields) {
  if (text.size() != 24 || !IsOneOf(text.substr(0, 3), kDayNames) || text[3] != ' ' ||
      text[7] != ' ' || text[10] != ' ' || text[19] != ' ') {
    return false;
  }
  fields.month = MonthNumber(text.substr(4, 3));
  fields.day = text[8] == ' ' ? Digits(text, 9, 1) : Digits(text, 8, 2);
  fields.year = Digits(text, 20, 4);
  return ReadTimeOfDay(text, 11, fields);
}

int DaysInMonth(int year, int month) {
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

absl::CivilSecond ToCivil(const DateFields& fields, int year) {
  return absl::CivilSecond(year, fields.month, fields.day, fields.hour, fields.minute,
                           fields.second);
}

// RFC 9110 section 5.6.7: a two-digit year more than 50 years in the future is the most recent
// past year with those digits; so the latest such year not more than 50 years after now.
int ResolveTwoDigitYear(const DateFields& fields, absl::Time now) {
  const absl::CivilSecond today = absl::ToCivilSecond(now, absl::UTCTimeZone());
  const absl::CivilSecond limit(today.year() + 50, today.month(), today.day(), today.hour(),
                                today.minute(), today.second());
  int year = static_cast<int>(today.year() - today.year() % 100) + 100 + fields.two_digit_year;
  while (ToCivil(fields, year) > limit) year -= 100;
  return year;
}

// The time the fields name, when every one is within its range.
std::optional<absl::Time> ToTime(const DateFields& fields) {
  if (fields.year < 0 || fields.year > 9999 || fields.month < 1 || fields.day < 1 ||
      fields.day > DaysInMonth(fields.year, fields.month) || fields.hour > 23 ||
      fields.minute > 59 || fields.second > 60 ||
      (fields.second == 60 && (fields.hour != 23 || fields.minute != 59))) {
    return std::nullopt;
  }
  return absl::FromCivil(ToCivil(fields, fields.year), absl::UTCTimeZone());
}

}  // namespace

Conditional EvaluateConditional(const Headers& request_headers, absl::string_view etag,
                                std::optional<absl::Time> last_modified) {
  if (request_headers.Has("If-None-Match")) {
    const std::string list = request_headers.GetJoined("If-None-Match");
    if (etag.empty()) return Conditional::kModified;
    return IfNoneMatchMatches(list, etag) ? Conditional::kNotModified : Conditional::kModified;
  }
  std::optional<std::string> since_header = request_headers.Get("If-Modified-Since");
  if (!since_header.has_value() || !last_modified.has_value()) return Conditional::kNone;
  std::optional<absl::Time> since = ParseHttpDate(*since_header);
  if (!since.has_value()) return Conditional::kNone;  // Invalid dates are ignored.
  return *last_modified <= *since ? Conditional::kNotModified : Conditional::kModified;
}

std::optional<absl::Time> ParseHttpDate(absl::string_view value, absl::Time now) {
  const absl::string_view text = absl::StripAsciiWhitespace(value);
  DateFields fields;
  const bool read = text.size() == 29   ? ReadImfFixdate(text, fields)
                    : text.size() == 24 ? ReadAsctimeDate(text, fields)
                                        : ReadRfc850Date(text, fields);
  if (!read || fields.month == 0 || fields.day < 0) return std::nullopt;
  if (fields.two_digit_year >= 0) fields.year = ResolveTwoDigitYear(fields, now);
  return ToTime(fields);
}

std::optional<absl::Time> ParseHttpDate(absl::string_view value) {
  return ParseHttpDate(value, Clock::Real().Now());
}

std::string FormatHttpDate(absl::Time time) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::Time first = absl::FromCivil(absl::CivilSecond(0, 1, 1, 0, 0, 0), utc);
  const absl::Time last = absl::FromCivil(absl::CivilSecond(9999, 12, 31, 23, 59, 59), utc);
  const absl::CivilSecond civil =
      absl::ToCivilSecond(time < first ? first : (time > last ? last : time), utc);
  const int weekday = static_cast<int>(absl::GetWeekday(absl::CivilDay(civil)));
  return absl::StrFormat("%s, %02d %s %04d %02d:%02d:%02d GMT", kDayNames[weekday], civil.day(),
                         kMonths[civil.month() - 1], civil.year(), civil.hour(), civil.minute(),
                         civil.second());
}

Response MakeNotModified(const Response& full, const std::vector<std::string>& also_keep) {
  Response not_modified;
  not_modified.status = 304;
  for (const Headers::Field& field : full.headers.fields()) {
    if (Keeps(field.first, also_keep)) not_modified.headers.Add(field.first, field.second);
  }
  return not_modified;
}

}  // namespace larder::http
