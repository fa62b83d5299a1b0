#!/usr/bin/perl
# Reads a TAP stream with Perl's own TAP::Parser (what `prove` uses) and
# checks what the grader promises of it:
#   - it parses without errors, TAP version 13, a plan that matches;
#   - every "not ok" test is followed by a YAML block that TAP::Parser reads
#     into a hash with message, status, score and max_score;
#   - the YAML's expected/actual/diff/details/log keys, when there, are text.
# usage: tap_check.pl FILE
# Prints "passed=N failed=N skipped=N yaml=N expected=N actual=N" and every
# problem; exit 0 when none, 1 otherwise.
use strict;
use warnings;
use TAP::Parser;

my $file = shift or die "usage: tap_check.pl FILE\n";
open my $fh, '<', $file or die "tap_check.pl: cannot read $file: $!\n";
my $tap = do { local $/; <$fh> };
close $fh;

my $parser = TAP::Parser->new({ tap => $tap });
my (@problems, $last_not_ok);
my %n = (passed => 0, failed => 0, skipped => 0, yaml => 0, expected => 0, actual => 0);
while (my $r = $parser->next) {
    if ($r->is_test) {
        push @problems, "test $last_not_ok has no YAML block" if defined $last_not_ok;
        undef $last_not_ok;
        if ($r->has_skip) {
            $n{skipped}++;
        } elsif ($r->is_actual_ok) {
            $n{passed}++;
        } else {
            $n{failed}++;
            $last_not_ok = $r->number;
        }
    } elsif ($r->is_yaml) {
        $n{yaml}++;
        my $data = $r->data;
        if (ref $data ne 'HASH') {
            push @problems, "a YAML block is not a hash";
            next;
        }
        for my $key (qw(message status score max_score)) {
            push @problems, "YAML of test " . ($last_not_ok // '?') . " has no $key" unless defined $data->{$key};
        }
        push @problems, "score is not a number" if defined $data->{score} && $data->{score} !~ /^\d+$/;
        for my $key (qw(expected actual diff details log)) {
            next unless exists $data->{$key};
            push @problems, "$key is not text" if ref $data->{$key};
            $n{$key}++ if $key eq 'expected' || $key eq 'actual';
        }
        undef $last_not_ok;
    } elsif ($r->is_unknown) {
        push @problems, "a line TAP::Parser does not know: " . $r->as_string;
    }
}
push @problems, "test $last_not_ok has no YAML block" if defined $last_not_ok;
push @problems, "parse error: $_" for $parser->parse_errors;
push @problems, "not TAP version 13" unless ($parser->version // 0) == 13;
push @problems, "the plan does not match the tests" unless $parser->is_good_plan;

print join(' ', map { "$_=$n{$_}" } qw(passed failed skipped yaml expected actual)), "\n";
print "problem: $_\n" for @problems;
exit(@problems ? 1 : 0);
