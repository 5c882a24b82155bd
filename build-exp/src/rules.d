build-exp/src/rules.o: src/rules.c src/rules.h src/alert.h src/config.h \
 src/hashmap.h src/event.h src/jsonw.h src/util.h
src/rules.h:
src/alert.h:
src/config.h:
src/hashmap.h:
src/event.h:
src/jsonw.h:
src/util.h:
