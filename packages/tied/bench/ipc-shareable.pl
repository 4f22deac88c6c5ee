#!/usr/bin/perl
# The Perl side of tied.bench.ts: the same three operations on IPC::Shareable 1.x variables, as JSON lines of ops/s.
# Usage: perl ipc-shareable.pl <seconds per operation>. Every segment and semaphore it creates is removed at the end.
use strict;
use warnings;
use IPC::Shareable;
use Time::HiRes qw(time);

my $secs = shift // 1;
my %opts = (create => 1, exclusive => 0, destroy => 1, mode => 0600, size => 65536);
tie my %h, 'IPC::Shareable', { %opts, key => 'SBH' . $$ % 10 } or die "tie hash: $!";
tie my @a, 'IPC::Shareable', { %opts, key => 'SBA' . $$ % 10 } or die "tie array: $!";
%h = map { ("k$_" => $_) } 0 .. 9;

sub measure {
  my ($name, $body) = @_;
  my ($n, $t0) = (0, time);
  my $t;
  do { $body->() for 1 .. 200; $n += 200 } while (($t = time - $t0) < $secs);
  printf qq({"op":"%s","opsPerSec":%.0f}\n), $name, $n / $t;
}

my $x = 0;
measure('get', sub { $x += $h{k5} });
my $i = 0;
measure('set', sub { $h{k3} = $i++ });
my $p = 0;
measure('push', sub { push @a, $p++; @a = () if @a >= 100 });

IPC::Shareable->clean_up_all;
